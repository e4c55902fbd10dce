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

    [Fact]
    public async Task DispatchedOutboxMessagesAndProcessedEventsOlderThanTheirWindowsAreDeletedAndNothingPendingIs()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using (var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString))
        {
            // Its migrations only: its relay would dispatch the pending message below.
            orchestrator.CreateClient().Dispose();
        }

        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Retention:Outbox"] = "2.00:00:00",
            ["Retention:ProcessedEvents"] = "30.00:00:00",
            ["Retention:Interval"] = "00:00:00.200",
            ["Retention:BatchSize"] = "7",
        });
        using var client = worker.CreateClient();

        var now = DateTimeOffset.UtcNow;
        string Id(TimeSpan age) => Guid.CreateVersion7(now - age).ToString();
        var tenDays = TimeSpan.FromDays(10);
        var oldDispatched = Enumerable.Range(0, 20).Select(_ => $"('{Id(tenDays)}', 'call.ended', '{{}}', now() - interval '10 days', now() - interval '10 days')");
        await TestDatabase.ExecuteAsync(database, $"""
            INSERT INTO outbox_messages (id, type, payload, created_at, dispatched_at) VALUES
                {string.Join(",\n", oldDispatched)},
                ('{Id(tenDays)}', 'call.ended', '{"{}"}', now() - interval '10 days', now() - interval '1 hour'),
                ('{Id(tenDays)}', 'call.ended', '{"{}"}', now() - interval '10 days', NULL),
                ('{Id(TimeSpan.Zero)}', 'call.ended', '{"{}"}', now(), now());
            INSERT INTO processed_events (event_id, handler, processed_at) VALUES
                ('{Id(TimeSpan.FromDays(40))}', 'call.ended', now() - interval '40 days'),
                ('{Id(TimeSpan.FromDays(40))}', 'alert.firing', now() - interval '40 days'),
                ('{Id(TimeSpan.FromDays(40))}', 'call.ended', now() - interval '1 day'),
                ('{Id(TimeSpan.Zero)}', 'call.ended', now());
            """);


        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events"), count => count == 2,
            "old processed events to be deleted", cancellationToken: TestContext.Current.CancellationToken);
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages"), count => count == 3,
            "old dispatched messages to be deleted", cancellationToken: TestContext.Current.CancellationToken);
        var metrics = Orchestrator.Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", TestContext.Current.CancellationToken));

        // Kept: the message dispatched an hour ago, the one still waiting for Redis, the new one.
        Assert.Equal(1, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL"));
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at < now() - interval '2 days'"));
        // Kept: an old event processed yesterday (a late redelivery) and today's.
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events WHERE processed_at < now() - interval '30 days'"));
        Assert.Equal(20, metrics.Sum("voicehive_retention_deleted_total", ("table", "outbox_messages")));
        Assert.Equal(2, metrics.Sum("voicehive_retention_deleted_total", ("table", "processed_events")));
    }
}
