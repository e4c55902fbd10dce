extern alias orchestrator;

using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Orchestrator;
using PmsSimulatorSettings = orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings;
using SimulatorProfile = orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile;

namespace VoiceHive.Tests.Worker;

/// <summary>Orchestrator and worker against the same PostgreSQL and Redis: events, effects, reactions.</summary>
public sealed class EventPipelineTests(SharedServers servers)
{
    private static readonly Dictionary<string, string?> Fast = new(EventStreams.FastReclaim(maxDeliveries: 3))
    {
        ["ALERT_WEBHOOK_TOKEN"] = "test-webhook-token",
    };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EndedCallsAreAggregatedOnceEvenWhenDeliveredTwice()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = Simulated(OrchestratorApplication.For(database, servers.Redis.ConnectionString, Fast));
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        worker.CreateClient().Dispose();
        using var client = orchestrator.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            var call = await client.StartCallAsync();
            await client.TurnAsync(call, $"Reservation GR{1300 + i}?");
            await client.EndAsync(call, i == 3 ? "dropped" : "resolved");
        }

        await WaitForAsync(database, "SELECT coalesce(sum(calls), 0) FROM call_hourly_stats", 4);
        // Deliver every event a second time, as a relay that crashed before its commit would.
        var redis = orchestrator.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        var entries = await redis.StreamRangeAsync(stream);
        foreach (var entry in entries)
        {
            await redis.StreamAddAsync(stream, entry.Values);
        }

        await WaitForAsync(database, "SELECT count(*) FROM processed_events", entries.Length);
        var metrics = Exposition.Parse(await worker.CreateClient().GetStringAsync("/monitoring/metrics", Cancellation));
        await Eventually.Until(async () => Exposition.Parse(await worker.CreateClient().GetStringAsync("/monitoring/metrics", Cancellation))
            .Sum("voicehive_events_processed_total", ("outcome", "duplicate")) == entries.Length, "the duplicates to be seen", cancellationToken: Cancellation);

        Assert.Equal(4, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(3, await TestDatabase.ScalarAsync(database, "SELECT sum(successes) FROM call_hourly_stats"));
        Assert.Equal(1, await TestDatabase.ScalarAsync(database, "SELECT sum(failures) FROM call_hourly_stats"));
        Assert.Equal(4, await TestDatabase.ScalarAsync(database, "SELECT sum(pms_requests) FROM call_hourly_stats"));
        Assert.Equal(4, await TestDatabase.ScalarAsync(database, "SELECT sum(b) FROM call_hourly_stats, unnest(pms_buckets) AS b"));
        Assert.True(metrics.Sum("voicehive_events_processed_total", ("type", "call.ended"), ("outcome", "applied")) == 4);
    }

    [Fact]
    public async Task APoisonMessageIsDeadLetteredAndTheConsumerCarriesOn()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = Simulated(OrchestratorApplication.For(database, servers.Redis.ConnectionString, Fast));
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        using var workerClient = worker.CreateClient();
        var redis = worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);

        await redis.StreamAddAsync(stream, [new("id", Guid.NewGuid().ToString()), new("type", "call.ended"), new("payload", "{\"hotelId\": 42")]);
        await redis.StreamAddAsync(stream, "garbage", "no id, no type");
        using var client = orchestrator.CreateClient();
        var call = await client.StartCallAsync();
        await client.EndAsync(call, "resolved");

        await WaitForAsync(database, "SELECT coalesce(sum(calls), 0) FROM call_hourly_stats", 1);
        await Eventually.Until(async () => await redis.StreamLengthAsync(stream + ":dead") == 2, "both poison messages to be dead-lettered",
            cancellationToken: Cancellation);
        var metrics = await Eventually.Until(
            async () => Exposition.Parse(await workerClient.GetStringAsync("/monitoring/metrics", Cancellation)),
            m => m.Sum("voicehive_events_dead_lettered_total") == 2, "the dead-letter metric", cancellationToken: Cancellation);

        Assert.Equal(1, metrics.Sum("voicehive_events_dead_lettered_total", ("type", "call.ended")));
        Assert.Equal(1, metrics.Sum("voicehive_events_dead_lettered_total", ("type", "unknown")));
        Assert.True(metrics.Sum("voicehive_events_failed_total") >= 6, "each poison message failed MaxDeliveries times");
        var dead = await redis.StreamRangeAsync(stream + ":dead");
        Assert.All(dead, entry => Assert.Contains(entry.Values, field => field.Name == "reason"));
    }

    [Fact]
    public async Task NothingAcknowledgedIsLostWhileRedisIsDown()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var redis = new RedisServer(persistent: true);
        await redis.InitializeAsync();
        await using var orchestrator = Simulated(OrchestratorApplication.For(database, redis.ConnectionString, Fast));
        await using var worker = WorkerApplication.For(database, redis.ConnectionString, Fast);
        worker.CreateClient().Dispose();
        using var client = AlertWebhookTests.Authorized(orchestrator);
        var calls = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            calls.Add(await client.StartCallAsync());
        }

        await redis.StopAsync();
        foreach (var call in calls)
        {
            Assert.True((await client.PostAsJsonAsync($"/api/calls/{call}/end", new { outcome = "resolved" }, Cancellation)).IsSuccessStatusCode);
        }

        var alert = await client.PostAsync("/monitoring/alerts/webhook",
            new StringContent(AlertWebhookTests.Payload("firing", fingerprint: "during-outage", hotel: "harbor-view"), System.Text.Encoding.UTF8, "application/json"), Cancellation);
        Assert.True(alert.IsSuccessStatusCode);
        Assert.True(await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL") >= 6);

        await redis.StartAsync();

        await WaitForAsync(database, "SELECT coalesce(sum(calls), 0) FROM call_hourly_stats", 5);
        await WaitForAsync(database, "SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE a.fingerprint = 'during-outage' AND e.event = 'reaction_applied'", 1);
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL"));
    }

    [Fact]
    public async Task APmsAlertPutsItsHotelInDegradedModeUntilItResolves()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = Simulated(OrchestratorApplication.For(database, servers.Redis.ConnectionString, Fast));
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        worker.CreateClient().Dispose();
        using var client = AlertWebhookTests.Authorized(orchestrator);
        var simulator = orchestrator.Services.GetRequiredService<PmsSimulatorSettings>();
        var call = await client.StartCallAsync();
        await client.TurnAsync(call, "Reservation GR1042 please");

        await client.PostAsync("/monitoring/alerts/webhook", Json(AlertWebhookTests.Payload("firing")), Cancellation);
        await Eventually.Until(async () => Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation))
            .Sum("voicehive_pms_degraded_mode", ("hotel_id", "grand-plaza")) == 1, "grand-plaza to be degraded", cancellationToken: Cancellation);
        simulator.Set("grand-plaza", new SimulatorProfile(0, 0, 1));
        var remembered = await client.TurnAsync(call, "Reservation GR1042 again?");
        var unsafeToGuess = await client.TurnAsync(call, "Any rooms available tomorrow?");

        await client.PostAsync("/monitoring/alerts/webhook", Json(AlertWebhookTests.Payload("resolved")), Cancellation);
        await Eventually.Until(async () => Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation))
            .Sum("voicehive_pms_degraded_mode", ("hotel_id", "grand-plaza")) == 0, "degraded mode to be lifted", cancellationToken: Cancellation);
        var afterLift = await client.TurnAsync(call, "Reservation GR1042 once more?");
        var alerts = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts", Cancellation);
        var metrics = Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation));

        Assert.StartsWith("Our reservation system is slow right now", remembered.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.False(remembered.GetProperty("transferToFrontDesk").GetBoolean());
        Assert.True(unsafeToGuess.GetProperty("transferToFrontDesk").GetBoolean());
        Assert.True(afterLift.GetProperty("transferToFrontDesk").GetBoolean());
        Assert.Equal(1, metrics.Sum("voicehive_pms_fallback_answers_total", ("hotel_id", "grand-plaza")));
        Assert.Equal(["received", "reaction_applied", "resolved", "reaction_lifted"],
            alerts.EnumerateArray().Single().GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task AFiringAppliedAfterItsAlertResolvedDoesNotDegradeTheHotel()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString, Fast);
        using var client = AlertWebhookTests.Authorized(orchestrator);

        // As when another worker holds the firing in a batch while this one applies the resolution: the resolution first.
        await using var worker = await ApplyOutOfOrderAsync(orchestrator, client, database,
            [AlertWebhookTests.Payload("firing"), AlertWebhookTests.Payload("resolved")], [1, 0]);

        var alerts = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts", Cancellation);
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM pms_degraded_hotels"));
        Assert.Equal(["received", "resolved", "no_reaction"],
            alerts.EnumerateArray().Single().GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task AResolutionAppliedAfterTheAlertFiredAgainKeepsTheHotelDegraded()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString, Fast);
        using var client = AlertWebhookTests.Authorized(orchestrator);

        // Fired, resolved, fired again (same fingerprint, a new start); the first resolution is applied last.
        await using var worker = await ApplyOutOfOrderAsync(orchestrator, client, database,
            [AlertWebhookTests.Payload("firing"), AlertWebhookTests.Payload("resolved"), AlertWebhookTests.Payload("firing", startsAt: "2026-11-22T11:00:00Z")],
            [0, 2, 1]);

        Assert.Equal(1, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM pms_degraded_hotels"));
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM alert_events WHERE event = 'reaction_lifted'"));
    }

    [Fact]
    public async Task TwoOrchestratorsAndTwoWorkersShareTheStreamAndEveryEffectHappensOnce()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var small = new Dictionary<string, string?>(Fast) { ["Consumer:BatchSize"] = "3" };
        await using var orchestrator = Simulated(OrchestratorApplication.For(database, servers.Redis.ConnectionString, small));
        await using var otherOrchestrator = Simulated(OrchestratorApplication.For(database, servers.Redis.ConnectionString, small));
        await using var first = WorkerApplication.For(database, servers.Redis.ConnectionString, small);
        await using var second = WorkerApplication.For(database, servers.Redis.ConnectionString, small);
        first.CreateClient().Dispose();
        second.CreateClient().Dispose();
        using var client = orchestrator.CreateClient();
        using var otherClient = otherOrchestrator.CreateClient();
        const int calls = 30;
        for (var i = 0; i < calls; i++)
        {
            // Started on one replica, ended on the other: both relays feed the stream.
            var call = await (i % 2 == 0 ? client : otherClient).StartCallAsync();
            await (i % 2 == 0 ? otherClient : client).EndAsync(call, "resolved");
        }

        await WaitForAsync(database, "SELECT coalesce(sum(calls), 0) FROM call_hourly_stats", calls);
        await WaitForAsync(database, "SELECT count(*) FROM processed_events", calls * 2);
        var firstMetrics = Exposition.Parse(await first.CreateClient().GetStringAsync("/monitoring/metrics", Cancellation));
        var secondMetrics = Exposition.Parse(await second.CreateClient().GetStringAsync("/monitoring/metrics", Cancellation));
        // Every call.started (no effect: "ignored") and call.ended ("applied") handled once, by one worker or the other.
        var firstApplied = firstMetrics.Sum("voicehive_events_processed_total", ("outcome", "applied")) + firstMetrics.Sum("voicehive_events_processed_total", ("outcome", "ignored"));
        var secondApplied = secondMetrics.Sum("voicehive_events_processed_total", ("outcome", "applied")) + secondMetrics.Sum("voicehive_events_processed_total", ("outcome", "ignored"));

        Assert.Equal(calls, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats"));
        Assert.Equal(calls * 2, firstApplied + secondApplied);
        Assert.True(firstApplied > 0 && secondApplied > 0, $"work was not shared: {firstApplied} and {secondApplied}");
    }

    /// <summary>
    /// Sends the notifications, waits until each one's event is on the stream, then has a worker apply the events in the
    /// order given (indexes into the notifications), one after another. Returns the worker.
    /// </summary>
    private async Task<WorkerApplication> ApplyOutOfOrderAsync(OrchestratorApplication orchestrator, HttpClient client, string database,
        string[] notifications, int[] order)
    {
        foreach (var notification in notifications)
        {
            Assert.True((await client.PostAsync("/monitoring/alerts/webhook", Json(notification), Cancellation)).IsSuccessStatusCode);
        }

        await WaitForAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NOT NULL", notifications.Length);
        var redis = orchestrator.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        var entries = await redis.StreamRangeAsync(stream);
        await redis.StreamDeleteAsync(stream, [.. entries.Select(entry => entry.Id)]);
        var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        worker.CreateClient().Dispose();
        for (var i = 0; i < order.Length; i++)
        {
            await redis.StreamAddAsync(stream, entries[order[i]].Values);
            await WaitForAsync(database, "SELECT count(*) FROM processed_events", i + 1);
        }

        return worker;
    }

    private static OrchestratorApplication Simulated(OrchestratorApplication app)
    {
        app.Services.GetRequiredService<PmsSimulatorSettings>().Set(null, new SimulatorProfile(0, 0, 0));
        return app;
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    private static Task WaitForAsync(string database, string sql, long expected) => TestDatabase.WaitForAsync(database, sql, expected);
}
