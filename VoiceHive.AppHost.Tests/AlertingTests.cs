using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.AppHost.Operations;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.AppHost.Tests;

/// <summary>
/// The alert path in two clicks, as the on-call engineer would try it from the dashboard: the "Inject PMS fault"
/// command makes grand-plaza's PMS slow and failing, the traffic resource keeps calls coming, Prometheus evaluates the
/// repository's rules (at test speed), Alertmanager routes with the repository's configuration to the orchestrator's
/// webhook and to the Slack and PagerDuty fakes, and the worker puts the hotel into degraded mode. "Clear PMS
/// faults" resolves all of it.
/// </summary>
public sealed class AlertingTests(VoiceHiveAppHost host)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task APmsFaultFromTheDashboardFiresRoutesReactsAndResolves()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var orchestrator = host.Client("orchestrator", ServiceTokens.Operations);
        await host.ExecuteCommandAsync("traffic", DashboardCommands.SetTrafficRate, new Dictionary<string, string> { ["callsPerSecond"] = "4" });
        try
        {
            var injected = await host.ExecuteCommandAsync("orchestrator", DashboardCommands.InjectPmsFault,
                new Dictionary<string, string> { ["hotel"] = "grand-plaza", ["failureRate"] = "1", ["latencyMs"] = "2500" });
            Assert.True(injected.Success, injected.Message);

            await UntilAsync(async () =>
            {
                var firing = await FiringAsync(orchestrator, cancellationToken);
                return firing.Contains("CallSuccessRateLow") && firing.Contains("PMSResponseTimeSlow")
                    && await DegradedAsync("grand-plaza", cancellationToken)
                    && host.Slack.Requests.Any(r => r.Body.Contains("PMSResponseTimeSlow", StringComparison.Ordinal))
                    && host.PagerDuty.Requests.Any(r => r.Body.Contains("CallSuccessRateLow", StringComparison.Ordinal));
            }, "the fault to fire both alerts, reach Slack, PagerDuty and the webhook, and degrade the hotel", cancellationToken);

            var stored = await orchestrator.GetFromJsonAsync<JsonElement>("/monitoring/alerts?status=firing", cancellationToken);
            var pmsAlert = stored.EnumerateArray().Single(a => a.GetProperty("alertName").GetString() == "PMSResponseTimeSlow");
            Assert.Equal("grand-plaza", pmsAlert.GetProperty("hotelId").GetString());
            Assert.Contains("reaction_applied", pmsAlert.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
            var slackMessage = host.Slack.Requests.First(r => r.Body.Contains("PMSResponseTimeSlow", StringComparison.Ordinal)).Body;
            Assert.Contains("hotel grand-plaza", slackMessage, StringComparison.Ordinal);
            Assert.Contains("docs/runbooks/PMSResponseTimeSlow.md", slackMessage, StringComparison.Ordinal);
            var page = JsonDocument.Parse(host.PagerDuty.Requests.First(r => r.Body.Contains("CallSuccessRateLow", StringComparison.Ordinal)).Body).RootElement;
            Assert.Equal("trigger", page.GetProperty("event_action").GetString());
            Assert.Equal(VoiceHiveAppHost.PagerDutyRoutingKey, page.GetProperty("routing_key").GetString());

            // An earlier test may have left these alerts' groups notified, so Alertmanager need not page them again; their
            // resolution, though, comes after this clearing.
            var (slackSeen, pagerSeen) = (host.Slack.Requests.Count, host.PagerDuty.Requests.Count);
            var cleared = await host.ExecuteCommandAsync("orchestrator", DashboardCommands.ClearPmsFaults);
            Assert.True(cleared.Success, cleared.Message);

            // Healthy traffic resolves both alerts. (The SLO burn-rate alerts rightly keep firing: their longer windows
            // still hold the fault.)
            await UntilAsync(async () =>
            {
                var firing = await FiringAsync(orchestrator, cancellationToken);
                return !firing.Contains("CallSuccessRateLow") && !firing.Contains("PMSResponseTimeSlow")
                    && !await DegradedAsync("grand-plaza", cancellationToken)
                    && host.Slack.Requests.Skip(slackSeen).Any(r => r.Body.Contains("RESOLVED", StringComparison.Ordinal))
                    && host.PagerDuty.Requests.Skip(pagerSeen).Any(r => r.Body.Contains("\"event_action\":\"resolve\"", StringComparison.Ordinal)
                        && r.Body.Contains("CallSuccessRateLow", StringComparison.Ordinal));
            }, "clearing the fault to resolve the alerts everywhere and lift degraded mode", cancellationToken);

            var resolved = await orchestrator.GetFromJsonAsync<JsonElement>("/monitoring/alerts?hotel=grand-plaza", cancellationToken);
            var pmsResolved = resolved.EnumerateArray().Single(a => a.GetProperty("alertName").GetString() == "PMSResponseTimeSlow");
            Assert.Equal("resolved", pmsResolved.GetProperty("status").GetString());
            Assert.Equal(["received", "reaction_applied", "resolved", "reaction_lifted"],
                pmsResolved.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
        }
        finally
        {
            await host.ExecuteCommandAsync("orchestrator", DashboardCommands.ClearPmsFaults);
            await host.ExecuteCommandAsync("traffic", DashboardCommands.SetTrafficRate, new Dictionary<string, string> { ["callsPerSecond"] = "1" });
        }
    }

    /// <summary>
    /// The worker's process killed: its announcement lapses, Prometheus loses its only target, and ServiceDown pages for
    /// the worker through Alertmanager; started again from the dashboard, the page resolves. (The rule before waited for
    /// a target to be down, and never fired here: a dead replica leaves the targets instead.)
    /// </summary>
    [Fact]
    public async Task ACrashedWorkerPagesAsServiceDownAndItsRestartResolvesIt()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var commands = host.App.Services.GetRequiredService<ResourceCommandService>();
        static bool About((string Method, string Path, string Body) request, string action) =>
            request.Body.Contains("ServiceDown (voicehive-worker)", StringComparison.Ordinal)
            && request.Body.Contains($"\"event_action\":\"{action}\"", StringComparison.Ordinal);

        // A crash: the worker's process killed outright, as the kernel's OOM killer would. Only what PagerDuty receives
        // from then on counts (a slow start of the AppHost may have paged before).
        await host.App.ResourceNotifications.WaitForResourceHealthyAsync("worker", cancellationToken);
        var seen = host.PagerDuty.Requests.Count;
        var pid = await WorkerPidAsync(cancellationToken);
        using (var process = System.Diagnostics.Process.GetProcessById(pid))
        {
            process.Kill(entireProcessTree: true);
        }

        try
        {
            await UntilAsync(() => Task.FromResult(host.PagerDuty.Requests.Skip(seen).Any(r => About(r, "trigger"))),
                "ServiceDown for the worker to page", cancellationToken);
        }
        finally
        {
            Assert.True((await commands.ExecuteCommandAsync("worker", KnownResourceCommands.StartCommand, cancellationToken)).Success);
            await host.App.ResourceNotifications.WaitForResourceHealthyAsync("worker", cancellationToken);
        }

        await UntilAsync(() => Task.FromResult(host.PagerDuty.Requests.Skip(seen).Any(r => About(r, "resolve"))),
            "the worker's restart to resolve the page", cancellationToken);
        Assert.DoesNotContain(host.PagerDuty.Requests.Skip(seen), r => r.Body.Contains("ServiceDown (voicehive-orchestrator)", StringComparison.Ordinal));
    }

    private async Task<int> WorkerPidAsync(CancellationToken cancellationToken)
    {
        await foreach (var update in host.App.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (update.Resource.Name == "worker"
                && update.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } value
                && Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) is > 0 and var pid)
            {
                return pid;
            }
        }

        throw new InvalidOperationException("The worker has no process id.");
    }

    private static async Task<HashSet<string?>> FiringAsync(HttpClient orchestrator, CancellationToken cancellationToken) =>
        (await orchestrator.GetFromJsonAsync<JsonElement>("/monitoring/alerts?status=firing", cancellationToken))
            .EnumerateArray().Select(a => a.GetProperty("alertName").GetString()).ToHashSet();

    /// <summary>Whether every orchestrator replica reports the hotel in degraded mode, as Prometheus scraped them.</summary>
    private async Task<bool> DegradedAsync(string hotel, CancellationToken cancellationToken) =>
        (await host.QueryAsync($"voicehive_pms_degraded_mode{{hotel_id=\"{hotel}\"}}", cancellationToken)).Count(s => s.Value == 1) == 2;

    private async Task UntilAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken)
    {
        try
        {
            await Eventually.Until(condition, what, Limit, cancellationToken);
        }
        catch (TimeoutException exception)
        {
            var alerts = await host.QueryAsync("ALERTS", cancellationToken);
            throw new TimeoutException(
                $"{exception.Message}\nPrometheus ALERTS: {string.Join("; ", alerts.Select(a => $"{a.Labels["alertname"]} {a.Labels["alertstate"]}"))}\n" +
                $"Slack: {host.Slack.Requests.Count} requests, PagerDuty: {host.PagerDuty.Requests.Count}\n{host.DescribeStates()}", exception);
        }
    }
}
