using System.Net.Http.Json;
using System.Text.Json;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Orchestrator;
using VoiceHive.Tests.Stack;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// A PMS fault injected through the simulator's admin endpoint, followed through the whole monitoring path
/// with real processes: Prometheus evaluates the repository's rules (at test speed: 20 s rate windows, 5 s
/// "for", 1 s intervals; the rules' logic itself is covered by the promtool tests), Alertmanager routes with
/// the repository's configuration to the orchestrator's webhook and to fake Slack and PagerDuty servers, and
/// the worker puts the hotel into degraded mode. Removing the fault resolves all of it.
/// </summary>
public sealed class AlertingEndToEndTests(SharedServers servers)
{
    [Fact]
    public async Task APmsFaultFiresRoutesReactsAndResolves()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var slack = await ProgrammableHttpServer.StartAsync();
        await using var pagerDuty = await ProgrammableHttpServer.StartPagerDutyAsync();
        // Degraded mode must not shorten the slow PMS answers this test measures.
        await using var stack = await LocalProcessStack.StartAsync(servers, slack.Address, pagerDuty.Address, alertingAtTestSpeed: true,
            new Dictionary<string, string?> { ["Pms:DegradedTimeout"] = "00:00:05" });
        // One client for both the call channel and the operator's reads: a token with both scopes.
        using var client = new HttpClient { BaseAddress = stack.Orchestrator }.WithToken(TestTokens.Create(TestTokens.AllScopes));
        using var admin = new HttpClient { BaseAddress = stack.Orchestrator }.WithToken(stack.OperationsToken);
        using var scrape = new HttpClient { BaseAddress = stack.Orchestrator }.WithToken(stack.ScrapeToken);
        string Diagnostics() => $"Prometheus:\n{stack.PrometheusServer.TailOfLog()}\nAlertmanager:\n{stack.AlertmanagerServer.TailOfLog()}";
        (await admin.PutAsJsonAsync("/admin/pms-simulator", new { latencyMedianMs = 0, latencyP95Ms = 0, failureRate = 0.0 }, cancellationToken)).EnsureSuccessStatusCode();

        // The fault: grand-plaza's PMS answers after about 2.5 s, and fails.
        (await admin.PutAsJsonAsync("/admin/pms-simulator",
            new { hotelId = "grand-plaza", latencyMedianMs = 2500, latencyP95Ms = 2800, failureRate = 1.0 }, cancellationToken)).EnsureSuccessStatusCode();
        await DriveUntilAsync(client, async () =>
        {
            var alerts = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts?status=firing", cancellationToken);
            var names = alerts.EnumerateArray().Select(a => a.GetProperty("alertName").GetString()).ToHashSet();
            return names.Contains("CallSuccessRateLow") && names.Contains("PMSResponseTimeSlow")
                && Exposition.Parse(await scrape.GetStringAsync("/monitoring/metrics", cancellationToken)).Sum("voicehive_pms_degraded_mode", ("hotel_id", "grand-plaza")) == 1
                && slack.Requests.Any(r => r.Body.Contains("PMSResponseTimeSlow", StringComparison.Ordinal))
                && pagerDuty.Requests.Any(r => r.Body.Contains("CallSuccessRateLow", StringComparison.Ordinal));
        }, "the fault to fire both alerts, reach Slack, PagerDuty and the webhook, and degrade the hotel", Diagnostics, cancellationToken);

        var firing = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts?status=firing", cancellationToken);
        var pmsAlert = firing.EnumerateArray().Single(a => a.GetProperty("alertName").GetString() == "PMSResponseTimeSlow");
        Assert.Equal("grand-plaza", pmsAlert.GetProperty("hotelId").GetString());
        Assert.Contains("reaction_applied", pmsAlert.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
        var slackMessage = slack.Requests.First(r => r.Body.Contains("PMSResponseTimeSlow", StringComparison.Ordinal)).Body;
        Assert.Contains("hotel grand-plaza", slackMessage, StringComparison.Ordinal);
        Assert.Contains("docs/runbooks/PMSResponseTimeSlow.md", slackMessage, StringComparison.Ordinal);
        Assert.Contains("\"event_action\":\"trigger\"", pagerDuty.Requests.First(r => r.Body.Contains("CallSuccessRateLow", StringComparison.Ordinal)).Body,
            StringComparison.Ordinal);

        // The fault is removed: healthy traffic resolves both alerts. (The SLO burn-rate alerts rightly keep
        // firing: their longer windows still hold the fault.)
        (await admin.DeleteAsync("/admin/pms-simulator", cancellationToken)).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/admin/pms-simulator", new { latencyMedianMs = 0, latencyP95Ms = 0, failureRate = 0.0 }, cancellationToken)).EnsureSuccessStatusCode();
        await DriveUntilAsync(client, async () =>
        {
            var stillFiring = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts?status=firing", cancellationToken);
            return !stillFiring.EnumerateArray().Any(a => a.GetProperty("alertName").GetString() is "CallSuccessRateLow" or "PMSResponseTimeSlow")
                && Exposition.Parse(await scrape.GetStringAsync("/monitoring/metrics", cancellationToken)).Sum("voicehive_pms_degraded_mode", ("hotel_id", "grand-plaza")) == 0
                && slack.Requests.Any(r => r.Body.Contains("RESOLVED", StringComparison.Ordinal))
                && pagerDuty.Requests.Any(r => r.Body.Contains("\"event_action\":\"resolve\"", StringComparison.Ordinal));
        }, "removing the fault to resolve the alerts everywhere and lift degraded mode", Diagnostics, cancellationToken);

        var resolved = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts?hotel=grand-plaza", cancellationToken);
        var pmsResolved = resolved.EnumerateArray().Single(a => a.GetProperty("alertName").GetString() == "PMSResponseTimeSlow");
        Assert.Equal("resolved", pmsResolved.GetProperty("status").GetString());
        Assert.Equal(["received", "reaction_applied", "resolved", "reaction_lifted"],
            pmsResolved.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
    }

    /// <summary>Calls keep coming (one at a time, bounded in number) until the condition holds.</summary>
    private static async Task DriveUntilAsync(HttpClient client, Func<Task<bool>> condition, string what, Func<string> diagnostics,
        CancellationToken cancellationToken)
    {
        for (var call = 0; call < 200; call++)
        {
            var id = await client.StartCallAsync();
            await client.TurnAsync(id, "Can you check reservation GR1042?");
            await client.EndAsync(id, "transferred");
            if (await condition())
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        throw new TimeoutException($"Gave up waiting for {what}.\n{diagnostics()}");
    }
}
