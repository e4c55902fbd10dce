using System.Globalization;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Worker;

/// <summary>A worker process killed with SIGKILL in the middle of a batch, then started again.</summary>
public sealed class WorkerCrashTests(SharedServers servers)
{
    private const int Events = 1500;

    [Fact]
    public async Task EveryEffectIsPresentExactlyOnceAfterAKillNineAndARestart()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        orchestrator.CreateClient().Dispose();
        var directory = TestDirectories.Create("worker");
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__voicehivedb"] = database,
            ["ConnectionStrings__redis"] = servers.Redis.ConnectionString,
            ["Events__Stream"] = "voicehive:events:" + new Npgsql.NpgsqlConnectionStringBuilder(database).Database,
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["Consumer__BatchSize"] = "50",
            ["Consumer__ReclaimAfter"] = "00:00:01",
            ["Consumer__ReclaimInterval"] = "00:00:00.500",
            ["Consumer__IdleDelay"] = "00:00:00.050",
        };

        var first = StartWorker(directory, environment);
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'processed_events'"),
            count => count == 1, "the worker process to apply its migrations", cancellationToken: cancellationToken);
        await TestDatabase.ExecuteAsync(database, $"""
            INSERT INTO outbox_messages (id, type, payload)
            SELECT gen_random_uuid(), 'call.ended', json_build_object(
                'callId', gen_random_uuid(), 'hotelId', 'grand-plaza', 'startedAt', now() - interval '1 minute', 'endedAt', now(),
                'succeeded', i % 10 <> 0, 'turns', 1, 'pmsSeconds', json_build_array(0.2))::jsonb
            FROM generate_series(1, {Events}) AS i
            """);
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events"), count => count >= 100,
            "the first worker to be busy", cancellationToken: cancellationToken);
        await first.StopAsync(ManagedProcess.SigKill);
        var processedAtKill = await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events");

        await using var second = StartWorker(directory, environment);
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events"), count => count == Events,
            "the restarted worker to finish, reclaiming what the killed one left pending", TimeSpan.FromMinutes(3), cancellationToken);

        Assert.True(processedAtKill < Events, $"the kill came after all {Events} events were processed; it proves nothing");
        Assert.Equal(Events, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(Events / 10, await TestDatabase.ScalarAsync(database, "SELECT sum(failures) FROM call_hourly_stats"));
        Assert.Equal(Events, await TestDatabase.ScalarAsync(database, "SELECT sum(pms_requests) FROM call_hourly_stats"));
        await first.DisposeAsync();
    }

    private static ManagedProcess StartWorker(string directory, IReadOnlyDictionary<string, string> environment) =>
        ManagedProcess.Start(Binaries.Require("dotnet", "the .NET SDK"), [ServiceAssembly.Path("VoiceHive.Worker")],
            Path.Combine(directory, $"worker-{DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture)}.log"), environment: environment);
}
