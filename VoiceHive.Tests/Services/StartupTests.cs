extern alias orchestrator;
extern alias worker;

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

public sealed class StartupTests(SharedServers servers)
{
    [Theory]
    [InlineData("orchestrator", "voicehivedb")]
    [InlineData("orchestrator", "redis")]
    [InlineData("worker", "voicehivedb")]
    [InlineData("worker", "redis")]
    public async Task MissingConnectionStringFailsStartupNamingTheSetting(string service, string missing)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:voicehivedb"] = "Host=127.0.0.1;Port=1;Username=x;Database=x",
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
        };
        settings.Remove($"ConnectionStrings:{missing}");
        await using IServiceApplication app = service == "worker" ? new WorkerApplication(settings) : new OrchestratorApplication(settings);

        var exception = Record.Exception(() => app.CreateClient());

        Assert.NotNull(exception);
        var messages = string.Join(" | ", Flatten(exception).Select(e => e.Message));
        Assert.Contains($"ConnectionStrings:{missing}", messages, StringComparison.Ordinal);
        Assert.Contains($"ConnectionStrings__{missing}", messages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutsideDevelopmentTheOrchestratorRefusesToStartWithoutAWebhookToken()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Monitoring:ScrapeToken"] = "a-scrape-token",
                ["Calls:CallerHashKey"] = "a-production-key-of-some-length",
            });

        var exception = Record.Exception(() => app.CreateClient());

        Assert.NotNull(exception);
        Assert.Contains("ALERT_WEBHOOK_TOKEN", string.Join(" | ", Flatten(exception).Select(e => e.Message)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplicasStartingTogetherApplyEachMigrationOnce()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var database = await servers.Postgres.CreateDatabaseAsync();
        IServiceApplication[] replicas =
        [
            OrchestratorApplication.For(database, servers.Redis.ConnectionString),
            OrchestratorApplication.For(database, servers.Redis.ConnectionString),
            WorkerApplication.For(database, servers.Redis.ConnectionString),
            WorkerApplication.For(database, servers.Redis.ConnectionString),
        ];
        try
        {
            await Task.WhenAll(replicas.Select(replica => Task.Run(() => replica.CreateClient().Dispose(), cancellationToken)));

            using var orchestratorScope = replicas[0].Services.CreateScope();
            using var workerScope = replicas[2].Services.CreateScope();
            var orchestratorMigrations = orchestratorScope.ServiceProvider
                .GetRequiredService<orchestrator::VoiceHive.Orchestrator.Infrastructure.OrchestratorDbContext>().Database.GetMigrations().Count();
            var workerMigrations = workerScope.ServiceProvider
                .GetRequiredService<worker::VoiceHive.Worker.Infrastructure.WorkerDbContext>().Database.GetMigrations().Count();
            // Each migration once: as many rows as migrations, no two alike (the history's primary key).
            Assert.Equal(orchestratorMigrations, await TestDatabase.ScalarAsync(database, """SELECT count(*) FROM "__orchestrator_migrations" """));
            Assert.Equal(workerMigrations, await TestDatabase.ScalarAsync(database, """SELECT count(*) FROM "__worker_migrations" """));
            Assert.Equal(4L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM hotels"));
            Assert.Equal(0L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events"));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task HandWrittenMigrationsMatchTheModel()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);

        using var orchestratorScope = orchestrator.Services.CreateScope();
        using var workerScope = worker.Services.CreateScope();

        Assert.False(orchestratorScope.ServiceProvider.GetRequiredService<orchestrator::VoiceHive.Orchestrator.Infrastructure.OrchestratorDbContext>()
            .Database.HasPendingModelChanges());
        Assert.False(workerScope.ServiceProvider.GetRequiredService<worker::VoiceHive.Worker.Infrastructure.WorkerDbContext>()
            .Database.HasPendingModelChanges());
    }

    [Fact]
    public async Task ADatabaseThatDoesNotExistYetIsCreated()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var existing = new NpgsqlConnectionStringBuilder(await servers.Postgres.CreateDatabaseAsync());
        var missing = new NpgsqlConnectionStringBuilder(existing.ConnectionString) { Database = existing.Database + "_new" };
        await using var app = OrchestratorApplication.For(missing.ConnectionString, servers.Redis.ConnectionString);
        using var client = app.CreateClient();

        using var health = await client.GetAsync("/health", cancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(4L, await TestDatabase.ScalarAsync(missing.ConnectionString, "SELECT count(*) FROM hotels"));
    }

    [Fact]
    public async Task TheDbContextDoesNotRetryOnItsOwnSoTheServicesTransactionsStandAlone()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var scope = app.Services.CreateScope();

        var strategy = scope.ServiceProvider.GetRequiredService<orchestrator::VoiceHive.Orchestrator.Infrastructure.OrchestratorDbContext>()
            .Database.CreateExecutionStrategy();

        Assert.False(strategy.RetriesOnFailure);
    }

    /// <summary>The orchestrator run as its own process, as in production: what it prints and how it exits.</summary>
    [Theory]
    [InlineData("unreachable-postgres", "PostgreSQL at 127.0.0.1:")]
    [InlineData("bad-variable", "TRACE_SAMPLE_RATE")]
    [InlineData("missing-connection-string", "ConnectionStrings__voicehivedb")]
    [InlineData("production-without-webhook-token", "ALERT_WEBHOOK_TOKEN")]
    [InlineData("production-without-issuer-or-audience", "Authentication:Schemes:Bearer:ValidIssuer")]
    [InlineData("production-without-scrape-token", "Monitoring:ScrapeToken")]
    public async Task AStartupThatCannotProceedSaysWhyInOneLineAndExitsNonZero(string fault, string named)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__voicehivedb"] = $"Host=127.0.0.1;Port={TestDirectories.FreePort()};Username=x;Password=secret-password;Database=x;Timeout=1",
            ["ConnectionStrings__redis"] = servers.Redis.ConnectionString,
            ["Database__MigrationTimeout"] = "00:00:02",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
        };
        switch (fault)
        {
            case "bad-variable":
                environment["TRACE_SAMPLE_RATE"] = "2";
                break;
            case "missing-connection-string":
                environment.Remove("ConnectionStrings__voicehivedb");
                break;
            case "production-without-webhook-token":
                await InProductionAsync(environment, without: "ALERT_WEBHOOK_TOKEN");
                break;
            case "production-without-issuer-or-audience":
                await InProductionAsync(environment, without: "Authentication__");
                break;
            case "production-without-scrape-token":
                await InProductionAsync(environment, without: "Monitoring__ScrapeToken");
                break;
        }

        var (exitCode, output) = await RunOrchestratorAsync(environment, cancellationToken);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEqual(0, exitCode);
        var reason = Assert.Single(lines, line => line.StartsWith("Start-up failed: ", StringComparison.Ordinal));
        Assert.Contains(named, reason, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password", output, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    /// <summary>Production, with every setting it requires but those whose names start with <paramref name="without"/>.</summary>
    private async Task InProductionAsync(Dictionary<string, string> environment, string without)
    {
        environment["ConnectionStrings__voicehivedb"] = await servers.Postgres.CreateDatabaseAsync();
        environment["DOTNET_ENVIRONMENT"] = environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var required = new Dictionary<string, string>(TestTokens.EnvironmentVariables.ToDictionary(s => s.Key, s => s.Value!))
        {
            ["Calls__CallerHashKey"] = "a-production-key-of-some-length",
            ["ALERT_WEBHOOK_TOKEN"] = "a-webhook-token",
            ["Monitoring__ScrapeToken"] = "a-scrape-token",
        };
        foreach (var (key, value) in required.Where(setting => !setting.Key.StartsWith(without, StringComparison.Ordinal)))
        {
            environment[key] = value;
        }
    }

    private static async Task<(int ExitCode, string Output)> RunOrchestratorAsync(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Binaries.Require("dotnet", "the .NET SDK"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Binaries.ServiceAssembly("VoiceHive.Orchestrator"));
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The orchestrator neither started nor gave up within two minutes:\n" + await stdout + await stderr);
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static IEnumerable<Exception> Flatten(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }
}
