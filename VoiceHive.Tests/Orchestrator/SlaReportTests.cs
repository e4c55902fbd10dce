extern alias orchestrator;
extern alias worker;

using System.Net.Http.Json;
using System.Text.Json;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>The SLA report over a scripted data set, against figures computed by hand.</summary>
public sealed class SlaReportTests(SharedServers servers)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FiguresMatchHandComputedValues()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        using var client = app.CreateClient();
        await client.GetAsync("/health", Cancellation);
        // Within the last hour: grand-plaza 200 calls, 1 failed; harbor-view 100 calls, 3 failed.
        // 2 to 20 hours ago: grand-plaza 100 calls, 10 failed. 3 to 20 days ago: harbor-view 50 calls, 0 failed.
        // 40 days ago: 1000 failed calls that no window may count.
        await SeedCallsAsync(database, "grand-plaza", TimeSpan.FromMinutes(30), total: 200, failed: 1);
        await SeedCallsAsync(database, "harbor-view", TimeSpan.FromMinutes(10), total: 100, failed: 3);
        await SeedCallsAsync(database, "grand-plaza", TimeSpan.FromHours(10), total: 100, failed: 10);
        await SeedCallsAsync(database, "harbor-view", TimeSpan.FromDays(10), total: 50, failed: 0);
        await SeedCallsAsync(database, "alpine-lodge", TimeSpan.FromDays(40), total: 1000, failed: 1000);
        // PMS requests in the last hour for grand-plaza: 0.01 s, 0.02 s, …, 1.00 s; in the aggregate, by bucket:
        // ≤0.05: 5, ≤0.1: 5, ≤0.25: 15, ≤0.5: 25, ≤1: 50.
        await TestDatabase.ExecuteAsync(database, """
            INSERT INTO pms_requests (hotel_id, operation, outcome, duration_seconds, occurred_at)
            SELECT 'grand-plaza', 'reservation_lookup', CASE WHEN i % 25 = 0 THEN 'error' ELSE 'success' END, i / 100.0, now() - interval '5 minutes'
            FROM generate_series(1, 100) AS i;
            UPDATE call_hourly_stats SET pms_requests = 100, pms_failures = 4, pms_buckets = '{5,5,15,25,50,0,0,0,0,0,0}'
            WHERE hotel_id = 'grand-plaza' AND hour = date_trunc('hour', (now() - interval '1800 seconds') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            """);

        var report = await client.GetFromJsonAsync<JsonElement>("/monitoring/sla", Cancellation);

        Assert.Equal(99.0, report.GetProperty("callSuccessRateThreshold").GetDouble());
        Assert.Equal(2.0, report.GetProperty("pmsResponseTimeThresholdSeconds").GetDouble());
        var hour = Window(report, "1h");
        var day = Window(report, "24h");
        var month = Window(report, "30d");

        // 1 h overall: 300 calls, 4 failures: 98.666667 %, burn (4/300)/0.01 = 1.333333, budget left -0.333333.
        AssertFigures(hour.GetProperty("overall"), calls: 300, failures: 4, rate: 98.666667, meets: false, burn: 1.333333, budget: -0.333333);
        // grand-plaza: 200 calls, 1 failure: 99.5 %, burn 0.5, budget 0.5.
        AssertFigures(Hotel(hour, "grand-plaza"), calls: 200, failures: 1, rate: 99.5, meets: true, burn: 0.5, budget: 0.5);
        // harbor-view: 100 calls, 3 failures: 97 %, burn 3, budget -2.
        AssertFigures(Hotel(hour, "harbor-view"), calls: 100, failures: 3, rate: 97, meets: false, burn: 3, budget: -2);
        // PMS p95 over 0.01..1.00 by linear interpolation: 0.95 + 0.05 × 0.01 = 0.9505 s; 4 errors (25, 50, 75, 100).
        var pms = Hotel(hour, "grand-plaza");
        Assert.Equal(0.9505, pms.GetProperty("pmsP95Seconds").GetDouble(), 6);
        Assert.True(pms.GetProperty("pmsMeetsThreshold").GetBoolean());
        Assert.Equal(100, pms.GetProperty("pmsRequests").GetInt64());
        Assert.Equal(4, pms.GetProperty("pmsFailures").GetInt64());
        Assert.Equal("records", hour.GetProperty("source").GetString());
        Assert.Equal("hourly_aggregates", day.GetProperty("source").GetString());
        // 24 h, from the aggregates: 400 calls, 14 failures: 96.5 %, burn 3.5, budget -2.5.
        AssertFigures(day.GetProperty("overall"), calls: 400, failures: 14, rate: 96.5, meets: false, burn: 3.5, budget: -2.5);
        // p95 from buckets: rank 95 falls in (0.5, 1] holding 50 after 50 below: 0.5 + 0.5 × 45/50 = 0.95 s.
        Assert.Equal(0.95, Hotel(day, "grand-plaza").GetProperty("pmsP95Seconds").GetDouble(), 6);
        Assert.Equal(4, Hotel(day, "grand-plaza").GetProperty("pmsFailures").GetInt64());
        // 30 d: 450 calls, 14 failures: 96.888889 %, burn 3.111111, budget -2.111111; the 40-day-old calls are out.
        AssertFigures(month.GetProperty("overall"), calls: 450, failures: 14, rate: 96.888889, meets: false, burn: 3.111111, budget: -2.111111);
        Assert.DoesNotContain(month.GetProperty("hotels").EnumerateArray(), h => h.GetProperty("hotelId").GetString() == "alpine-lodge");
        Assert.Equal(1.333333, report.GetProperty("currentBurnRate").GetDouble(), 6);
    }

    [Fact]
    public async Task NoTrafficGivesNoRatesRatherThanZeroOrErrors()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var client = app.CreateClient();

        var report = await client.GetFromJsonAsync<JsonElement>("/monitoring/sla", Cancellation);

        var overall = Window(report, "1h").GetProperty("overall");
        Assert.Equal(0, overall.GetProperty("calls").GetInt64());
        Assert.Equal(JsonValueKind.Null, overall.GetProperty("successRatePercent").ValueKind);
        Assert.Equal(JsonValueKind.Null, overall.GetProperty("burnRate").ValueKind);
        Assert.Equal(JsonValueKind.Null, overall.GetProperty("pmsP95Seconds").ValueKind);
    }

    [Fact]
    public async Task ThresholdsComeFromTheGuidesVariables()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["CALL_SUCCESS_RATE_THRESHOLD"] = "95", ["PMS_RESPONSE_TIME_THRESHOLD"] = "0.5" });
        using var client = app.CreateClient();
        await client.GetAsync("/health", Cancellation);
        await SeedCallsAsync(database, "grand-plaza", TimeSpan.FromMinutes(5), total: 100, failed: 3);

        var report = await client.GetFromJsonAsync<JsonElement>("/monitoring/sla?hotel=grand-plaza", Cancellation);

        // 97 % against 95 %: meets; burn (3/100)/0.05 = 0.6.
        AssertFigures(Hotel(Window(report, "1h"), "grand-plaza"), calls: 100, failures: 3, rate: 97, meets: true, burn: 0.6, budget: 0.4);
    }

    private static JsonElement Window(JsonElement report, string name) =>
        report.GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("window").GetString() == name);

    private static JsonElement Hotel(JsonElement window, string hotel) =>
        window.GetProperty("hotels").EnumerateArray().Single(h => h.GetProperty("hotelId").GetString() == hotel).GetProperty("figures");

    private static void AssertFigures(JsonElement figures, long calls, long failures, double rate, bool meets, double burn, double budget)
    {
        Assert.Equal(calls, figures.GetProperty("calls").GetInt64());
        Assert.Equal(failures, figures.GetProperty("failures").GetInt64());
        Assert.Equal(calls - failures, figures.GetProperty("successes").GetInt64());
        Assert.Equal(rate, figures.GetProperty("successRatePercent").GetDouble(), 5);
        Assert.Equal(meets, figures.GetProperty("meetsSla").GetBoolean());
        Assert.Equal(burn, figures.GetProperty("burnRate").GetDouble(), 5);
        Assert.Equal(budget, figures.GetProperty("errorBudgetRemaining").GetDouble(), 5);
    }

    /// <summary>Ended calls as records and, as the worker would have aggregated them, in their hour's row.</summary>
    private static Task SeedCallsAsync(string database, string hotel, TimeSpan ago, int total, int failed) => TestDatabase.ExecuteAsync(database, $"""
        INSERT INTO call_hourly_stats (hotel_id, hour, calls, successes, failures, duration_seconds_sum, pms_requests, pms_failures, pms_seconds_sum, pms_buckets)
        VALUES ('{hotel}', date_trunc('hour', (now() - interval '{ago.TotalSeconds} seconds') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                {total}, {total - failed}, {failed}, {total * 120}, 0, 0, 0, ARRAY[0,0,0,0,0,0,0,0,0,0,0]::bigint[]);
        INSERT INTO calls (id, hotel_id, caller_hash, caller_masked, language, status, started_at, ended_at, outcome, failure_reason, succeeded, turn_count, pms_failed, had_error)
        SELECT gen_random_uuid(), '{hotel}', 'hash', '+44*****12', 'en', 'ended',
               now() - interval '{ago.TotalSeconds} seconds' - interval '2 minutes', now() - interval '{ago.TotalSeconds} seconds',
               CASE WHEN i <= {failed} THEN NULL ELSE 'resolved' END, CASE WHEN i <= {failed} THEN 'dropped' END, i > {failed}, 1, false, false
        FROM generate_series(1, {total}) AS i
        """);

    [Theory]
    [InlineData(new long[] { 5, 5, 15, 25, 50, 0, 0, 0, 0, 0, 0 }, 0.95)]
    [InlineData(new long[] { 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0 }, 1.975)]
    [InlineData(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4 }, 10.0)]
    [InlineData(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, null)]
    public void PercentilesAreInterpolatedWithinBuckets(long[] buckets, double? expected)
    {
        Assert.Equal(expected, orchestrator::VoiceHive.Orchestrator.Sla.SlaReporter.Quantile(0.95, buckets) is { } q ? Math.Round(q, 6) : null);
    }

    [Fact]
    public void OrchestratorAndWorkerAgreeOnTheLatencyBuckets() =>
        Assert.Equal(worker::VoiceHive.Worker.Events.CallAnalyticsHandler.PmsBucketBounds, orchestrator::VoiceHive.Orchestrator.Sla.SlaReporter.PmsBucketBounds);

    [Fact]
    public async Task CallsThroughTheApiReachTheAggregatedWindows()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestratorApp = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        await using var workerApp = WorkerApplication.For(database, servers.Redis.ConnectionString);
        workerApp.CreateClient().Dispose();
        using var client = orchestratorApp.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            var call = await client.StartCallAsync();
            await client.EndAsync(call, i == 0 ? "dropped" : "resolved");
        }

        var day = await Eventually.Until(
            async () => Window(await client.GetFromJsonAsync<JsonElement>("/monitoring/sla", Cancellation), "24h").GetProperty("overall"),
            overall => overall.GetProperty("calls").GetInt64() == 3, "the aggregates to hold the calls", cancellationToken: Cancellation);

        Assert.Equal(1, day.GetProperty("failures").GetInt64());
    }
}
