using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Orchestrator;

namespace VoiceHive.Tests.Worker;

/// <summary>
/// The worker applies a read batch's events in one transaction (one commit, so its pace is not one commit's latency per
/// event), falls back to one at a time when that fails, two workers' batches over the same rows do not deadlock, and a
/// batch that takes longer than the reclaim period stays with its consumer.
/// Rows written by one transaction share its id (<c>xmin</c>), which is how these tests count transactions.
/// </summary>
public sealed class BatchApplyTests(SharedServers servers)
{
    private const string TransactionsOfProcessedEvents = "SELECT count(DISTINCT xmin::text) FROM processed_events";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReadBatchIsAppliedInOneTransaction()
    {
        var (database, worker) = await StartAsync(workers: 1, batchSize: 10, fastReclaim: false);
        await using var _ = worker[0];

        // 30 entries at once, so that each read takes a full batch of 10.
        await EventStreams.AddAtOnceAsync(Redis(worker[0]), database, Enumerable.Range(0, 30).Select(i => EventStreams.EndedCall(Hotels[i % 3], DateTimeOffset.UtcNow)));

        await WaitForAsync(database, "SELECT count(*) FROM processed_events", 30);
        // Counted once acknowledged, a moment after the rows are committed.
        var metrics = await MetricsAsync(worker[0], m => m.Sum("voicehive_events_processed_total") == 30);
        Assert.Equal(3, await TestDatabase.ScalarAsync(database, TransactionsOfProcessedEvents));
        Assert.Equal(30, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(30, metrics.Sum("voicehive_events_processed_total", ("type", "call.ended"), ("outcome", "applied")));
        Assert.Equal(3, metrics.Sum("voicehive_events_batch_size_count"));
        Assert.Equal(30, metrics.Sum("voicehive_events_batch_size_sum"));
        Assert.Equal(0, metrics.Sum("voicehive_events_batch_fallbacks_total"));
        await Eventually.Until(() => Redis(worker[0]).StreamPendingAsync(EventStreams.Of(database), "voicehive-worker"), p => p.PendingMessageCount == 0,
            "every entry to be acknowledged", cancellationToken: Cancellation);
    }

    [Fact]
    public async Task AnEventThatFailsInsideTheBatchFailsAloneAndTheOthersAreAppliedOnce()
    {
        var (database, worker) = await StartAsync(workers: 1, batchSize: 10, fastReclaim: true);
        await using var _ = worker[0];
        var entries = Enumerable.Range(0, 10).Select(i => EventStreams.EndedCall(Hotels[i % 3], DateTimeOffset.UtcNow)).ToList();
        // PostgreSQL refuses it in the middle of the batch's transaction (hotel_id is varchar(64)): its lock key sorts it
        // after alpine-lodge's row and before grand-plaza's and harbor-view's.
        entries[5] = EventStreams.EndedCall(new string('b', 65), DateTimeOffset.UtcNow);

        await EventStreams.AddAtOnceAsync(Redis(worker[0]), database, entries);

        await WaitForAsync(database, "SELECT count(*) FROM processed_events", 9);
        var metrics = await MetricsAsync(worker[0], m => m.Sum("voicehive_events_failed_total") >= 1 && m.Sum("voicehive_events_processed_total") == 9);
        // The batch was tried, and rolled back: each of the nine was then applied once, in a transaction of its own.
        Assert.Equal(1, metrics.Sum("voicehive_events_batch_fallbacks_total", ("error_type", "PostgresException")));
        Assert.Equal(9, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(9, await TestDatabase.ScalarAsync(database, TransactionsOfProcessedEvents));
        Assert.Equal(9, metrics.Sum("voicehive_events_processed_total", ("outcome", "applied")));
        Assert.Equal(0, metrics.Sum("voicehive_events_processed_total", ("outcome", "duplicate")));
        // Claimed again, it is applied alone (a redelivered entry never joins a batch) and fails until it is dead-lettered.
        await Eventually.Until(() => Redis(worker[0]).StreamLengthAsync(EventStreams.Of(database) + ":dead"), length => length == 1,
            "the failing event to be dead-lettered", cancellationToken: Cancellation);
        Assert.Equal(9, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
    }

    [Fact]
    public async Task TwoWorkersApplyingBatchesOverTheSameRowsNeverFallBack()
    {
        const int events = 1_000;
        var (database, workers) = await StartAsync(workers: 2, batchSize: 10, fastReclaim: false);
        await using var first = workers[0];
        await using var second = workers[1];
        var random = new Random(7);

        // Every batch touches most of the four hotels' rows, in a random order: without a common lock order the two
        // workers' transactions deadlock, and PostgreSQL aborts one of them.
        await EventStreams.AddAtOnceAsync(Redis(first), database, Enumerable.Range(0, events).Select(_ => EventStreams.EndedCall(Hotels[random.Next(Hotels.Length)], DateTimeOffset.UtcNow)));

        await WaitForAsync(database, "SELECT count(*) FROM processed_events", events);
        var shares = await Eventually.Until(
            async () => await Task.WhenAll(new[] { first, second }.Select(async worker => (await MetricsAsync(worker, _ => true)).Sum("voicehive_events_processed_total", ("outcome", "applied")))),
            counts => counts.Sum() == events, "every event to be counted", cancellationToken: Cancellation);
        Assert.Equal(events, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.True(shares.All(share => share > 0), $"work was not shared: {string.Join(" and ", shares)}");
        // Each read took a full batch, and each batch committed together: none fell back to one at a time.
        Assert.Equal(events / 10, await TestDatabase.ScalarAsync(database, TransactionsOfProcessedEvents));
    }

    [Fact]
    public async Task ABatchStuckBehindALockForFourReclaimPeriodsStaysWithItsConsumerAndIsAppliedOnce()
    {
        // Entries idle for 2 s are claimed by the other worker, checked every 0.3 s; a living consumer renews its own every 0.3 s at most.
        var reclaimAfter = TimeSpan.FromSeconds(2);
        var (database, workers) = await StartAsync(workers: 2, batchSize: 10, fastReclaim: true,
            new Dictionary<string, string?> { ["Consumer:ReclaimAfter"] = reclaimAfter.ToString() });
        await using var first = workers[0];
        await using var second = workers[1];
        var redis = Redis(first);
        var stream = EventStreams.Of(database);

        // A session holds the table every call.ended writes (a long migration, a stuck transaction): the batch's
        // statement waits on the lock, as it would on a server that drops packets, past the reclaim period.
        await using var blocker = new NpgsqlConnection(database);
        await blocker.OpenAsync(Cancellation);
        await using var hold = await blocker.BeginTransactionAsync(Cancellation);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE call_hourly_stats IN EXCLUSIVE MODE", blocker, hold))
        {
            await lockTable.ExecuteNonQueryAsync(Cancellation);
        }

        await EventStreams.AddAtOnceAsync(redis, database, Enumerable.Range(0, 10).Select(i => EventStreams.EndedCall(Hotels[i % 3], DateTimeOffset.UtcNow)));
        await Eventually.Until(() => TestDatabase.ScalarAsync(database,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"),
            waiting => waiting >= 1, "the batch to wait on the lock", cancellationToken: Cancellation);
        await Task.Delay(reclaimAfter * 4, Cancellation);
        var pending = await redis.StreamPendingMessagesAsync(stream, "voicehive-worker", 20, RedisValue.Null);
        await hold.CommitAsync(Cancellation);

        // Renewed by its consumer while it waited, no entry was claimed by the other worker (a counted delivery, and
        // that worker's attempt would have waited behind the first's transaction, then found the events applied).
        Assert.Equal(10, pending.Length);
        Assert.All(pending, entry => Assert.Equal(1, entry.DeliveryCount));
        Assert.Single(pending.Select(entry => entry.ConsumerName.ToString()).Distinct());
        await WaitForAsync(database, "SELECT count(*) FROM processed_events", 10);
        var outcomes = await Eventually.Until(
            async () => await Task.WhenAll(new[] { first, second }.Select(async worker => await MetricsAsync(worker, _ => true))),
            metrics => metrics.Sum(m => m.Sum("voicehive_events_processed_total")) == 10, "every event to be counted", cancellationToken: Cancellation);
        Assert.Equal(10, outcomes.Sum(m => m.Sum("voicehive_events_processed_total", ("outcome", "applied"))));
        Assert.Equal(0, outcomes.Sum(m => m.Sum("voicehive_events_failed_total")));
        Assert.Equal(10, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(1, await TestDatabase.ScalarAsync(database, TransactionsOfProcessedEvents));
    }

    private static readonly string[] Hotels = ["grand-plaza", "harbor-view", "alpine-lodge", "city-center"];

    /// <summary>
    /// A database migrated by an orchestrator, and <paramref name="workers"/> started workers on it (the caller disposes
    /// them). Without <paramref name="fastReclaim"/>, entries are claimed from a consumer only after the default 30 s: a
    /// worker slowed by a busy machine does not lose its batch to the other, which would make the count of transactions vary.
    /// </summary>
    private async Task<(string Database, WorkerApplication[] Workers)> StartAsync(int workers, int batchSize, bool fastReclaim,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>(fastReclaim ? EventStreams.FastReclaim(maxDeliveries: 3) : [])
        {
            ["Consumer:BatchSize"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        await using (var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString, settings))
        {
            orchestrator.CreateClient().Dispose();
        }

        var started = Enumerable.Range(0, workers).Select(_ => WorkerApplication.For(database, servers.Redis.ConnectionString, settings)).ToArray();
        foreach (var worker in started)
        {
            worker.CreateClient().Dispose();
        }

        return (database, started);
    }

    private static Task<Exposition> MetricsAsync(WorkerApplication worker, Func<Exposition, bool> until) =>
        Eventually.Until(async () => Exposition.Parse(await worker.CreateClient().GetStringAsync("/monitoring/metrics", Cancellation)), until,
            "the worker's metrics", cancellationToken: Cancellation);

    private static IDatabase Redis(WorkerApplication worker) => worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();

    private static Task WaitForAsync(string database, string sql, long expected) => TestDatabase.WaitForAsync(database, sql, expected, TimeSpan.FromSeconds(90));
}
