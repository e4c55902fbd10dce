using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Worker;

public sealed class RetentionTests(SharedServers servers)
{
    [Fact]
    public async Task TranscriptsOlderThanTheRetentionAreDeletedInBatchesAndRecordsKept()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        orchestrator.CreateClient().Dispose();
        await TestDatabase.ExecuteAsync(database, """
            INSERT INTO calls (id, hotel_id, caller_hash, caller_masked, language, status, started_at, ended_at, outcome, succeeded, turn_count, pms_failed, had_error)
            VALUES ('00000000-0000-0000-0000-000000000001', 'grand-plaza', 'h', '+44*****12', 'en', 'ended', now() - interval '100 days', now() - interval '100 days', 'resolved', true, 25, false, false),
                   ('00000000-0000-0000-0000-000000000002', 'grand-plaza', 'h', '+44*****12', 'en', 'ended', now() - interval '1 day', now() - interval '1 day', 'resolved', true, 3, false, false);
            INSERT INTO call_turns (call_id, sequence, utterance, intent, reply, transferred_to_front_desk, created_at)
            SELECT '00000000-0000-0000-0000-000000000001', i, 'old words', 'unknown', 'reply', false, now() - interval '100 days' FROM generate_series(1, 25) AS i;
            INSERT INTO call_turns (call_id, sequence, utterance, intent, reply, transferred_to_front_desk, created_at)
            SELECT '00000000-0000-0000-0000-000000000002', i, 'recent words', 'unknown', 'reply', false, now() - interval '1 day' FROM generate_series(1, 3) AS i;
            """);

        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Retention:Transcripts"] = "30.00:00:00",
            ["Retention:Interval"] = "00:00:00.200",
            ["Retention:BatchSize"] = "7",
        });
        using var client = worker.CreateClient();

        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM call_turns WHERE utterance = 'old words'"), count => count == 0,
            "old transcripts to be deleted", cancellationToken: TestContext.Current.CancellationToken);
        var metrics = Orchestrator.Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", TestContext.Current.CancellationToken));

        Assert.Equal(3, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM call_turns"));
        Assert.Equal(2, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM calls"));
        Assert.Equal(25, metrics.Sum("voicehive_retention_deleted_total", ("table", "call_turns")));
    }
}
