using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Stack;

/// <summary>
/// What every host of the whole system must show, written against <see cref="IVoiceHiveStack"/> only (this
/// file and the interface are compiled into the Aspire test project too, which runs them on the AppHost).
/// </summary>
public abstract class StackTests
{
    protected abstract Task<IVoiceHiveStack> StartStackAsync();

    [Fact]
    public async Task EveryScrapeTargetIsUp()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var stack = await StartStackAsync();
        using var prometheus = new HttpClient { BaseAddress = stack.Prometheus };

        var targets = await Eventually.Until(
            async () => (await prometheus.GetFromJsonAsync<JsonElement>("api/v1/targets?state=active", cancellationToken))
                .GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Select(t => (Job: t.GetProperty("labels").GetProperty("job").GetString()!, Health: t.GetProperty("health").GetString()!))
                .ToList(),
            list => stack.ScrapeJobs.All(job => list.Any(t => t.Job == job)) && list.Where(t => stack.ScrapeJobs.Contains(t.Job)).All(t => t.Health == "up"),
            "every scrape target to be up", TimeSpan.FromSeconds(90), cancellationToken);

        Assert.All(stack.ScrapeJobs, job => Assert.Contains(targets, t => t.Job == job && t.Health == "up"));
    }

    [Fact]
    public async Task TheOrchestratorServesACallAndTheServicesAreHealthy()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var stack = await StartStackAsync();
        using var orchestrator = new HttpClient { BaseAddress = stack.Orchestrator };
        orchestrator.DefaultRequestHeaders.Authorization = new("Bearer", stack.CallsToken);
        using var worker = new HttpClient { BaseAddress = stack.Worker };

        var started = await orchestrator.PostAsJsonAsync("/api/calls", new { hotelId = "grand-plaza", callerNumber = "+447700900123", language = "en" }, cancellationToken);
        var call = (await started.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();
        var turn = await (await orchestrator.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance = "What time is check-out?" }, cancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var summary = await (await orchestrator.PostAsJsonAsync($"/api/calls/{call}/end", new { outcome = "resolved" }, cancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(cancellationToken);

        Assert.Equal("checkout_time", turn.GetProperty("intent").GetString());
        Assert.True(summary.GetProperty("succeeded").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await orchestrator.GetAsync("/health", cancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/health", cancellationToken)).StatusCode);
    }

    [Fact]
    public async Task AlertmanagerDeliversToTheOrchestratorsWebhook()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var stack = await StartStackAsync();
        using var alertmanager = new HttpClient { BaseAddress = stack.Alertmanager };
        using var orchestrator = new HttpClient { BaseAddress = stack.Orchestrator };
        orchestrator.DefaultRequestHeaders.Authorization = new("Bearer", stack.OperationsToken);

        (await alertmanager.PostAsJsonAsync("api/v2/alerts", new[]
        {
            new
            {
                labels = new Dictionary<string, string> { ["alertname"] = "StackProbe", ["severity"] = "info", ["service"] = "voicehive-orchestrator" },
                annotations = new Dictionary<string, string> { ["summary"] = "a probe", ["description"] = "value 1" },
                startsAt = DateTimeOffset.UtcNow.AddMinutes(-1),
            },
        }, cancellationToken)).EnsureSuccessStatusCode();

        await Eventually.Until(
            async () => (await orchestrator.GetFromJsonAsync<JsonElement>("/monitoring/alerts", cancellationToken)).EnumerateArray()
                .Any(a => a.GetProperty("alertName").GetString() == "StackProbe"),
            "the probe alert to reach the webhook", TimeSpan.FromSeconds(60), cancellationToken);
    }
}
