using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Monitoring;

namespace VoiceHive.AppHost.Tests;

/// <summary>
/// The repository's rules and dashboards against the running AppHost: after the traffic resource's calls, a failing
/// PMS, a poison event and a short Redis outage, every metric selector of every rule must match a series and every
/// dashboard panel query must return data, so no alert and no panel silently refers to a series the system does not emit.
/// </summary>
public sealed class MonitoringQueriesTests(VoiceHiveAppHost host)
{
    [Fact]
    public async Task EveryRuleSelectorAndEveryDashboardQueryFindsTheRunningSystemsSeries()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await ProduceEverySeriesAsync(cancellationToken);

        var missing = new List<string>();
        foreach (var selector in MonitoringQueries.RuleExpressions().SelectMany(MonitoringQueries.Selectors).Distinct().Order())
        {
            if (!await ReturnsDataAsync($"count({selector})", cancellationToken))
            {
                missing.Add(selector);
            }
        }

        var empty = new List<string>();
        foreach (var (dashboard, panel, expression) in MonitoringQueries.PanelQueries())
        {
            var query = MonitoringQueries.Substitute(expression);
            if (!await ReturnsDataAsync(query, cancellationToken))
            {
                empty.Add($"{dashboard} / {panel}: {query}");
            }
        }

        Assert.True(missing.Count == 0, $"no series for: {string.Join(", ", missing)}");
        Assert.True(empty.Count == 0, "panels without data:\n" + string.Join("\n", empty));
    }

    private async Task ProduceEverySeriesAsync(CancellationToken cancellationToken)
    {
        // PMS failures, so that the failure counters and the PMS error outcomes exist.
        await host.ExecuteCommandAsync("orchestrator", Operations.DashboardCommands.InjectPmsFault,
            new Dictionary<string, string> { ["hotel"] = "city-central", ["failureRate"] = "1", ["latencyMs"] = "0" });
        try
        {
            await Eventually.Until(async () => (await host.QueryAsync("sum(voicehive_call_failures_total)", cancellationToken)).Sum(s => s.Value) > 0,
                "a failed call", TimeSpan.FromMinutes(1), cancellationToken);
        }
        finally
        {
            await host.ExecuteCommandAsync("orchestrator", Operations.DashboardCommands.ClearPmsFaults);
        }

        // A poison event, so that the dead-letter counter exists.
        await host.PublishPoisonEventAsync(cancellationToken);

        await Eventually.Until(async () => (await host.QueryAsync("sum(voicehive_events_dead_lettered_total)", cancellationToken)).Sum(s => s.Value) > 0,
            "the poison event to be dead-lettered", TimeSpan.FromMinutes(1), cancellationToken);

        // A short Redis outage, so that the availability SLO has the 5xx it counts.
        var commands = host.App.Services.GetRequiredService<ResourceCommandService>();
        Assert.True((await commands.ExecuteCommandAsync("redis", KnownResourceCommands.StopCommand, cancellationToken)).Success);
        try
        {
            using var orchestrator = host.Client("orchestrator", ServiceTokens.Calls);
            await Eventually.Until(async () =>
                {
                    using var response = await orchestrator.PostAsJsonAsync("/api/calls", new { hotelId = "grand-plaza", callerNumber = "+447700900100", language = "en" }, cancellationToken);
                    return response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null;
                },
                "a 503 with Retry-After while Redis is down", TimeSpan.FromMinutes(1), cancellationToken);
        }
        finally
        {
            Assert.True((await commands.ExecuteCommandAsync("redis", KnownResourceCommands.StartCommand, cancellationToken)).Success);
            await host.App.ResourceNotifications.WaitForResourceHealthyAsync("redis", cancellationToken);
        }
    }

    private async Task<bool> ReturnsDataAsync(string query, CancellationToken cancellationToken)
    {
        try
        {
            await Eventually.Until(() => host.QueryAsync(query, cancellationToken), samples => samples.Count > 0,
                $"data for {query}", TimeSpan.FromSeconds(45), cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
