using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
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
        var (database, worker) = await WorkerOnMigratedDatabaseAsync(new()
        {
            ["Retention:Outbox"] = "2.00:00:00",
            ["Retention:Events"] = "30.00:00:00",
            ["Retention:BatchSize"] = "7",
        });
        await using var _ = worker;
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
        // The counter goes up after each statement: wait for the last.
        var metrics = await Eventually.Until(async () => Orchestrator.Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", TestContext.Current.CancellationToken)),
            m => m.Sum("voicehive_retention_deleted_total", ("table", "processed_events")) == 2 && m.Sum("voicehive_retention_deleted_total", ("table", "outbox_messages")) == 20,
            "the deletions to be counted", cancellationToken: TestContext.Current.CancellationToken);

        // Kept: the message dispatched an hour ago, the one still waiting for Redis, the new one.
        Assert.Equal(1, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL"));
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at < now() - interval '2 days'"));
        // Kept: an old event processed yesterday (a late redelivery) and today's.
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events WHERE processed_at < now() - interval '30 days'"));
        Assert.Equal(0, metrics.Sum("voicehive_retention_deleted_total", ("table", "call_turns")));
    }

    [Fact]
    public async Task StreamEntriesOlderThanTheEventWindowAreTrimmedButNeverOneTheWorkerHasNotSettled()
    {
        var (database, worker) = await WorkerOnMigratedDatabaseAsync(new() { ["Retention:Events"] = "30.00:00:00" });
        await using var _ = worker;
        using var client = worker.CreateClient();
        var redis = worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        var (forty, twentyNine) = (DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddDays(-29).ToUnixTimeMilliseconds());
        // Events of a type the worker has no handler for (it acknowledges them as ignored) and one without an event id
        // (it fails, and stays pending until it is claimed again 30 s later), by their stream ids 40 days old; then one
        // 29 days old and a new one. The dead-letter stream gets the same ages.
        NameValueEntry[] Event() => [new("id", Guid.CreateVersion7().ToString()), new("type", "test.unknown"), new("payload", "{}")];
        await redis.StreamAddAsync(stream, Event(), messageId: $"{forty}-0");
        await redis.StreamAddAsync(stream, Event(), messageId: $"{forty}-1");
        await redis.StreamAddAsync(stream, [new("type", "test.unknown"), new("payload", "{}")], messageId: $"{forty}-2");
        await redis.StreamAddAsync(stream, Event(), messageId: $"{forty + 1}-0");
        await redis.StreamAddAsync(stream, Event(), messageId: $"{twentyNine}-0");
        await redis.StreamAddAsync(stream, Event());
        for (var i = 0; i < 3; i++)
        {
            await redis.StreamAddAsync(stream + ":dead", [new("reason", "old"), .. Event()], messageId: $"{forty}-{i}");
        }

        await redis.StreamAddAsync(stream + ":dead", [new("reason", "29 days"), .. Event()], messageId: $"{twentyNine}-0");
        await redis.StreamAddAsync(stream + ":dead", [new("reason", "new"), .. Event()]);

        // The event stream's trim is ordered before the dead letters' in each pass, so once both counts are in, the
        // event stream has been trimmed as far as it will be.
        await Eventually.Until(async () => Orchestrator.Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", TestContext.Current.CancellationToken)),
            m => m.Sum("voicehive_retention_deleted_total", ("table", "event_stream")) == 2 && m.Sum("voicehive_retention_deleted_total", ("table", "dead_letters")) == 3,
            "the old entries to be trimmed", cancellationToken: TestContext.Current.CancellationToken);

        // Kept: the pending entry and everything after it, 40 days old or not.
        Assert.Equal(4, await redis.StreamLengthAsync(stream));
        Assert.Equal($"{forty}-2", (string?)(await redis.StreamRangeAsync(stream, count: 1)).Single().Id);
        Assert.Equal(["29 days", "new"], (await redis.StreamRangeAsync(stream + ":dead")).Select(e => (string?)e["reason"]));
    }

    /// <summary>A new database with both services' schema, and a worker whose retention runs every 200 ms; the orchestrator is stopped, so its relay dispatches nothing.</summary>
    private async Task<(string Database, WorkerApplication Worker)> WorkerOnMigratedDatabaseAsync(Dictionary<string, string?> settings)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using (var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString))
        {
            orchestrator.CreateClient().Dispose();
        }

        var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, new Dictionary<string, string?>(settings) { ["Retention:Interval"] = "00:00:00.200" });
        worker.CreateClient().Dispose();
        return (database, worker);
    }
}
