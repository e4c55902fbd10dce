extern alias orchestrator;

using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// The repository's Prometheus configuration and rules, loaded by a real Prometheus scraping the running
/// orchestrator, worker and exporters after a scripted call mix: every metric selector of every rule must
/// match at least one series, and every dashboard panel query must return data, so no alert and no panel
/// silently refers to a series the system does not emit.
/// </summary>
public sealed partial class MonitoringQueriesEndToEndTests(SharedServers servers)
{
    private static readonly HashSet<string> NotMetrics =
    [
        "sum", "rate", "increase", "max", "min", "avg", "count", "by", "without", "or", "and", "unless", "vector",
        "histogram_quantile", "offset", "on", "ignoring", "group_left", "group_right", "bool", "abs", "time",
    ];

    [Fact]
    public async Task EveryRuleSelectorAndEveryDashboardQueryFindsTheRunningSystemsSeries()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var database = await servers.Postgres.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Consumer:ReclaimAfter"] = "00:00:00.500",
            ["Consumer:ReclaimInterval"] = "00:00:00.200",
            ["Consumer:MaxDeliveries"] = "1",
        };
        // A Redis of its own, so that a short outage can produce the 5xx the availability SLO counts.
        await using var redis = new RedisServer(persistent: true);
        await redis.InitializeAsync();
        await using var orchestrator = OrchestratorApplication.For(database, redis.ConnectionString, settings);
        await using var worker = WorkerApplication.For(database, redis.ConnectionString, settings);
        orchestrator.UseRealPort();
        worker.UseRealPort();
        await using var redisExporter = await ExporterProcess.RedisAsync(redis);
        await using var postgresExporter = await ExporterProcess.PostgresAsync(servers.Postgres);
        await DriveTrafficAsync(orchestrator, worker, database, cancellationToken);
        await redis.StopAsync();
        using (var client = new HttpClient { BaseAddress = orchestrator.Address }.WithToken(TestTokens.Create("calls")))
        {
            using var unavailable = await client.PostAsync("/api/calls",
                new StringContent("""{"hotelId":"grand-plaza","callerNumber":"+14155550100","language":"en"}""", System.Text.Encoding.UTF8, "application/json"),
                cancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        }

        await redis.StartAsync();

        var rules = Path.Combine(MonitoringFiles.PrometheusDirectory, "rules", "*.yml");
        await using var prometheus = await PrometheusServer.StartAsync(
            MonitoringFiles.PrometheusConfigAtTestSpeed(await MonitoringFiles.PrometheusSecretsAsync("unused-in-development")).Replace("  - rules/*.yml", "  - " + rules, StringComparison.Ordinal),
            new Dictionary<string, string>
            {
                ["targets/orchestrator.json"] = Targets(orchestrator.Address),
                ["targets/worker.json"] = Targets(worker.Address),
                ["targets/redis-exporter.json"] = $$"""[{"targets": ["{{redisExporter.Target}}"]}]""",
                ["targets/postgres-exporter.json"] = $$"""[{"targets": ["{{postgresExporter.Target}}"]}]""",
            });

        var selectors = PrometheusRulesTests.Expressions().SelectMany(Selectors).Distinct().Order().ToList();
        var missing = new List<string>();
        foreach (var selector in selectors)
        {
            try
            {
                await Eventually.Until(() => prometheus.QueryAsync($"count({selector})", cancellationToken), samples => samples.Count > 0,
                    $"a series for {selector}", TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (TimeoutException)
            {
                missing.Add(selector);
            }
        }

        var panelQueries = GrafanaDashboardsTests.PanelQueries().ToList();
        var empty = new List<string>();
        foreach (var (dashboard, panel, expression) in panelQueries)
        {
            var query = GrafanaDashboardsTests.Substitute(expression);
            try
            {
                await Eventually.Until(() => prometheus.QueryAsync(query, cancellationToken), samples => samples.Count > 0,
                    $"data for {query}", TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (Exception exception) when (exception is TimeoutException or InvalidOperationException)
            {
                empty.Add($"{dashboard} / {panel}: {query} ({exception.Message.Split('\n')[0]})");
            }
        }

        Assert.True(selectors.Count >= 12, $"only {selectors.Count} selectors found: {string.Join(", ", selectors)}");
        Assert.True(missing.Count == 0, $"no series for: {string.Join(", ", missing)}\n{prometheus.TailOfLog()}");
        Assert.True(panelQueries.Count >= 30, $"only {panelQueries.Count} panel queries found");
        Assert.True(empty.Count == 0, "panels without data:\n" + string.Join("\n", empty));
    }

    [Theory]
    [InlineData("sum(rate(voicehive_errors_total[5m])) > 0.05", "voicehive_errors_total")]
    [InlineData("histogram_quantile(0.95, sum by (le, hotel_id) (rate(voicehive_pms_response_seconds_bucket[5m]))) > 2", "voicehive_pms_response_seconds_bucket")]
    [InlineData("up{job=~\"voicehive-orchestrator|voicehive-worker\"} == 0", "up{job=~\"voicehive-orchestrator|voicehive-worker\"}")]
    [InlineData("sum(x offset 15m) >= sum(y)", "x;y")]
    [InlineData("voicehive:call_error_ratio:rate1h > (14.4 * 0.01)", "voicehive:call_error_ratio:rate1h")]
    public void SelectorsAreReadFromExpressions(string expression, string expected)
    {
        Assert.Equal(expected.Split(';'), Selectors(expression));
    }

    /// <summary>The vector selectors of a PromQL expression: metric names with their matchers, functions and keywords left out.</summary>
    internal static IEnumerable<string> Selectors(string expression)
    {
        var withoutGrouping = Grouping().Replace(expression, " ");
        foreach (Match match in Selector().Matches(withoutGrouping))
        {
            var name = match.Groups["name"].Value;
            if (!NotMetrics.Contains(name) && !match.Groups["call"].Success)
            {
                yield return name + match.Groups["matchers"].Value;
            }
        }
    }

    private static async Task DriveTrafficAsync(OrchestratorApplication orchestrator, WorkerApplication worker, string database, CancellationToken cancellationToken)
    {
        var simulator = orchestrator.Services.GetRequiredService<orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings>();
        simulator.Set(null, new orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile(0, 0, 0));
        using var client = new HttpClient { BaseAddress = orchestrator.Address }.WithToken(TestTokens.Create("calls"));
        for (var i = 0; i < 3; i++)
        {
            var call = await client.StartCallAsync();
            await client.TurnAsync(call, "Reservation GR1042?");
            await client.EndAsync(call, "resolved");
        }

        simulator.Set(null, new orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile(0, 0, 1));
        var failing = await client.StartCallAsync();
        await client.TurnAsync(failing, "Reservation GR1042?");
        await client.EndAsync(failing, "dropped");
        // A poison event, so that the dead-letter counter exists.
        var redis = worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        await redis.StreamAddAsync(EventStreams.Of(database), "type", "poison");
        using var workerClient = new HttpClient { BaseAddress = worker.Address };
        await Eventually.Until(async () => await workerClient.GetStringAsync("/monitoring/metrics", cancellationToken),
            body => body.Contains("voicehive_events_dead_lettered_total", StringComparison.Ordinal), "the poison event to be dead-lettered",
            cancellationToken: cancellationToken);
    }

    private static string Targets(Uri address) => JsonSerializer.Serialize(new[] { new { targets = new[] { address.Authority } } });

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w:.])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<matchers>\{[^}]*\})?(?<call>\s*\()?")]
    private static partial Regex Selector();
}
