using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Orchestrator;

namespace VoiceHive.Tests.Worker;

/// <summary>
/// PostgreSQL or Redis stopped for much longer than the consumer's reclaim period while events wait on the stream:
/// the worker waits, says so, and afterwards every event is applied exactly once and none is dead-lettered.
/// </summary>
public sealed class OutageTests(SharedServers servers)
{
    private const int Events = 30;

    // Without the outage rule, five reclaim periods would claim every waiting entry past MaxDeliveries.
    private static readonly TimeSpan ReclaimAfter = TimeSpan.FromSeconds(1);

    private static readonly Dictionary<string, string?> Fast = new(EventStreams.FastReclaim(maxDeliveries: 3)) { ["Consumer:BatchSize"] = "10" };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task APostgresOutageLongerThanFiveReclaimPeriodsAppliesEveryEventOnceAndDeadLettersNone()
    {
        await using var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString, Fast);
        orchestrator.CreateClient().Dispose();
        await using var first = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        await using var second = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();

        await postgres.StopAsync();
        await AddEndedCallsAsync(first, database, Events);
        var health = await Eventually.Until(() => ConsumerCheckAsync(firstClient), check => check.Description.Contains("waiting for postgres", StringComparison.Ordinal),
            "the worker to say it waits for PostgreSQL", cancellationToken: Cancellation);
        var waiting = await Eventually.Until(() => MetricsAsync(firstClient), m => m.Sum("voicehive_events_dependency_wait", ("dependency", "postgres")) == 1,
            "the dependency-wait gauge", cancellationToken: Cancellation);
        await Task.Delay(ReclaimAfter * 6, Cancellation);
        await postgres.StartAsync();

        await WaitForAsync(database, "SELECT count(*) FROM processed_events", Events);
        var metrics = new[] { await MetricsAsync(firstClient), await MetricsAsync(secondClient) };
        Assert.Equal("Degraded", health.Status);
        Assert.Equal(0, waiting.Sum("voicehive_events_dependency_wait", ("dependency", "redis")));
        Assert.Equal(Events, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(0, await Redis(first).StreamLengthAsync(EventStreams.Of(database) + ":dead"));
        Assert.Equal(0, metrics.Sum(m => m.Sum("voicehive_events_failed_total")));
        Assert.Equal(0, metrics.Sum(m => m.Sum("voicehive_events_dead_lettered_total")));
        Assert.True(metrics.Sum(m => m.Sum("voicehive_events_deferred_total", ("dependency", "postgres"))) > 0, "no event met the outage");
        await Eventually.Until(() => MetricsAsync(firstClient), m => m.Sum("voicehive_events_dependency_wait") == 0, "the wait to end",
            cancellationToken: Cancellation);
    }

    [Fact]
    public async Task RedisGoingDownWhileTheWorkerHoldsEntriesLosesAndDeadLettersNothing()
    {
        await using var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        await using var redis = new RedisServer(persistent: true);
        await redis.InitializeAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, redis.ConnectionString, Fast);
        orchestrator.CreateClient().Dispose();
        await using var worker = WorkerApplication.For(database, redis.ConnectionString, Fast);
        using var client = worker.CreateClient();

        // PostgreSQL first, so that the worker holds a batch; then Redis, so that it cannot acknowledge what it applies.
        await postgres.StopAsync();
        await AddEndedCallsAsync(worker, database, Events);
        await Eventually.Until(() => MetricsAsync(client), m => m.Sum("voicehive_events_deferred_total") > 0, "the worker to hold a batch",
            cancellationToken: Cancellation);
        await redis.StopAsync();
        await postgres.StartAsync();
        await Eventually.Until(() => MetricsAsync(client), m => m.Sum("voicehive_events_dependency_wait", ("dependency", "redis")) == 1,
            "the worker to wait for Redis", cancellationToken: Cancellation);
        await Task.Delay(ReclaimAfter * 6, Cancellation);
        await redis.StartAsync();

        await WaitForAsync(database, "SELECT count(*) FROM processed_events", Events);
        var metrics = await MetricsAsync(client);
        var redisDatabase = Redis(worker);
        Assert.Equal(Events, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(0, await redisDatabase.StreamLengthAsync(EventStreams.Of(database) + ":dead"));
        Assert.Equal(0, metrics.Sum("voicehive_events_failed_total"));
        await Eventually.Until(() => redisDatabase.StreamPendingAsync(EventStreams.Of(database), "voicehive-worker"), p => p.PendingMessageCount == 0,
            "every entry to be acknowledged", cancellationToken: Cancellation);
    }

    /// <summary>Ended calls as the relay writes them, straight onto the stream (PostgreSQL may be down).</summary>
    private static async Task AddEndedCallsAsync(WorkerApplication worker, string database, int count)
    {
        var ended = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            await Redis(worker).StreamAddAsync(EventStreams.Of(database), EventStreams.EndedCall("grand-plaza", ended));
        }
    }

    private static IDatabase Redis(WorkerApplication worker) => worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();

    private static async Task<Exposition> MetricsAsync(HttpClient worker) =>
        Exposition.Parse(await worker.GetStringAsync("/monitoring/metrics", Cancellation));

    private static async Task<(string Status, string Description)> ConsumerCheckAsync(HttpClient worker)
    {
        // 503 while a dependency is down: the report is read whatever the status.
        using var response = await worker.GetAsync("/health", Cancellation);
        var check = (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("checks").GetProperty("event-consumer");
        return (check.GetProperty("status").GetString()!, check.GetProperty("description").GetString()!);
    }

    private static Task WaitForAsync(string database, string sql, long expected) => TestDatabase.WaitForAsync(database, sql, expected, TimeSpan.FromSeconds(90));
}
