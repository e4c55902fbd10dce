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
