using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// The VoiceHive guide's alert rules, as the guide writes them (Guide/voicehive_alerts.yml), work unchanged against the
/// running system: a real Prometheus scrapes a running orchestrator with those rules loaded. Only time is scaled, so
/// that a test does not wait minutes: every range becomes 1 m and every <c>for</c> 0 s; the expressions are the
/// guide's, character for character.
/// </summary>
public sealed partial class GuideAlertRulesTests(SharedServers servers)
{
    private static readonly string GuideRules = File.ReadAllText(Repository.Path("VoiceHive.Tests", "Monitoring", "Guide", "voicehive_alerts.yml"));

    [Fact]
    public async Task TheGuidesCallSuccessRateLowFiresForTheHotelsBelowTheSlaAndOnlyForThem()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        app.UseRealPort();
        using var client = new HttpClient { BaseAddress = app.Address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestTokens.Create(TestTokens.AllScopes));

        var hostPort = $"127.0.0.1:{app.Address.Port.ToString(CultureInfo.InvariantCulture)}";
        await using var prometheus = await PrometheusServer.StartAsync($$"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files: [guide.yml]
            scrape_configs:
              - job_name: voicehive-business-metrics
                metrics_path: /monitoring/metrics
                static_configs: [{ targets: ["{{hostPort}}"] }]
            """, new Dictionary<string, string> { ["guide.yml"] = ScaledToSeconds(GuideRules) });

        // harbor-view: 5 of 6 calls succeed (83 %); alpine-lodge: every call fails (0 %); city-central: all succeed.
        (string Hotel, string Outcome)[] calls =
        [
            .. Enumerable.Repeat(("harbor-view", "resolved"), 5), ("harbor-view", "dropped"),
            ("alpine-lodge", "dropped"), ("alpine-lodge", "dropped"),
            .. Enumerable.Repeat(("city-central", "resolved"), 3),
        ];
        var started = new List<(Guid Call, string Outcome)>();
        foreach (var (hotel, outcome) in calls)
        {
            started.Add((await client.StartCallAsync(hotel), outcome));
        }

        // Both series of the ratio exist, at 0, for every hotel from the replica's start: Prometheus has scraped them before
        // any call ends, so that the rate sees the increase.
        foreach (var counter in (string[])["voicehive_call_success_total", "voicehive_call_failures_total"])
        {
            await Eventually.Until(() => prometheus.QueryAsync(counter, cancellationToken),
                samples => calls.Select(c => c.Hotel).Distinct().All(hotel => samples.Any(s => s.Labels["hotel_id"] == hotel && s.Value == 0)),
                $"{counter} at 0 for the three hotels", cancellationToken: cancellationToken);
        }

        foreach (var (call, outcome) in started)
        {
            await client.EndAsync(call, outcome);
        }

        var firing = await Eventually.Until(
            () => prometheus.QueryAsync("""ALERTS{alertname="CallSuccessRateLow", alertstate="firing"}""", cancellationToken),
            samples => samples.Count >= 2, "the guide's CallSuccessRateLow to fire", cancellationToken: cancellationToken);
        var ratio = await prometheus.QueryAsync(Comparison().Replace(Rule(ScaledToSeconds(GuideRules), "CallSuccessRateLow"), ""), cancellationToken);

        Assert.Equal(["alpine-lodge", "harbor-view"], firing.Select(s => s.Labels["hotel_id"]).Order());
        Assert.All(firing, s => Assert.Equal("critical", s.Labels["severity"]));
        Assert.Equal(100, ratio.Single(s => s.Labels["hotel_id"] == "city-central").Value);
        Assert.Equal(0, ratio.Single(s => s.Labels["hotel_id"] == "alpine-lodge").Value);
        Assert.InRange(ratio.Single(s => s.Labels["hotel_id"] == "harbor-view").Value, 83, 84);

        // The guide's other three rules load and evaluate without error on the same series.
        using var http = new HttpClient { BaseAddress = prometheus.BaseAddress };
        var rules = (await http.GetFromJsonAsync<JsonElement>("api/v1/rules", cancellationToken)).GetProperty("data").GetProperty("groups")
            .EnumerateArray().SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToList();
        Assert.Equal(["CallSuccessRateLow", "HighErrorRate", "HighMemoryUsage", "PMSResponseTimeSlow"], rules.Select(r => r.GetProperty("name").GetString()).Order());
        Assert.All(rules, r => Assert.Equal("ok", r.GetProperty("health").GetString()));
    }

    [Fact]
    public void TheFixtureIsTheGuidesRulesWithTheirFourAlerts()
    {
        Assert.Contains("(rate(voicehive_call_success_total[5m]) / (rate(voicehive_call_success_total[5m]) + rate(voicehive_call_failures_total[5m]))) * 100 < 99", GuideRules, StringComparison.Ordinal);
        Assert.Equal(4, Regex.Count(GuideRules, "- alert: "));
        Assert.Equal(4, Regex.Count(ScaledToSeconds(GuideRules), "for: 0s"));
        Assert.DoesNotContain("[5m]", ScaledToSeconds(GuideRules), StringComparison.Ordinal);
    }

    /// <summary>
    /// The guide's rules with time scaled: ranges of minutes become 1 m (with 1 s scrapes, long enough that the ratio can
    /// still be read after the alert fires on a slow machine), and <c>for</c> becomes 0 s.
    /// </summary>
    private static string ScaledToSeconds(string rules) => ForClause().Replace(MinuteRange().Replace(rules, "[1m]"), "for: 0s");

    private static string Rule(string rules, string alert)
    {
        var start = rules.IndexOf($"- alert: {alert}", StringComparison.Ordinal);
        var expr = rules.IndexOf("expr: ", start, StringComparison.Ordinal) + "expr: ".Length;
        return rules[expr..rules.IndexOf('\n', expr)].Trim();
    }

    [GeneratedRegex(@"\[\d+m\]")]
    private static partial Regex MinuteRange();

    [GeneratedRegex(@"for: \d+m")]
    private static partial Regex ForClause();

    [GeneratedRegex(@"\s*<\s*99\s*$")]
    private static partial Regex Comparison();
}
