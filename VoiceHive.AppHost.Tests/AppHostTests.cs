using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.AppHost.Tests;

/// <summary>The whole system as <c>dotnet run</c> on the AppHost brings it up on a machine without containers.</summary>
public sealed class AppHostTests(VoiceHiveAppHost host)
{
    private static readonly string[] Infrastructure =
        ["redis", "postgres", "voicehivedb", "prometheus", "alertmanager", "redis-exporter", "postgres-exporter", "node-exporter", "blackbox-exporter"];

    [Fact]
    public async Task EveryResourceIsRunningAndHealthy()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        foreach (var resource in host.Resources)
        {
            var ready = await host.App.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken);

            Assert.Equal(KnownResourceStates.Running, ready.Snapshot.State?.Text);
        }

        Assert.Superset(new HashSet<string>(["orchestrator", "worker", "traffic", .. Infrastructure]), host.Resources.ToHashSet());
    }

    [Fact]
    public void TheInfrastructureRunsAsHostProcessesWithoutGrafanaAndJaeger()
    {
        var model = host.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.ToDictionary(r => r.Name);

        Assert.All(Infrastructure.Where(name => name != "voicehivedb"), name => Assert.IsAssignableFrom<ExecutableResource>(model[name]));
        Assert.DoesNotContain("grafana", model.Keys);
        Assert.DoesNotContain("jaeger", model.Keys);
    }

    [Fact]
    public async Task ACallGoesThroughTheOrchestratorAndTheWorkerAppliesIt()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var orchestrator = host.Client("orchestrator", ServiceTokens.Calls);

        var started = await orchestrator.PostAsJsonAsync("/api/calls", new { hotelId = "harbor-view", callerNumber = "+447700900123", language = "en" }, cancellationToken);
        var call = (await started.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();
        var turn = await (await orchestrator.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance = "What time is check-out?" }, cancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var summary = await (await orchestrator.PostAsJsonAsync($"/api/calls/{call}/end", new { outcome = "resolved" }, cancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(cancellationToken);

        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        Assert.Equal("checkout_time", turn.GetProperty("intent").GetString());
        Assert.True(summary.GetProperty("succeeded").GetBoolean());
        // The worker turns the ended call into the hourly analytics the SLA report reads.
        await Eventually.Until(async () => (await host.QueryAsync("sum(voicehive_events_processed_total{type=\"call.ended\"})", cancellationToken))
                .Sum(s => s.Value) > 0,
            "the worker to apply a call.ended event", TimeSpan.FromMinutes(1), cancellationToken);
    }

    [Fact]
    public async Task EveryPrometheusTargetIsUpAndEachOrchestratorReplicaIsScrapedOnItsOwn()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var jobs = await JobsAsync();
        using var prometheus = host.Client("prometheus");

        var targets = await Eventually.Until(
            async () => (await prometheus.GetFromJsonAsync<JsonElement>("/api/v1/targets?state=active", cancellationToken))
                .GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Select(t => (Job: t.GetProperty("labels").GetProperty("job").GetString()!, Instance: t.GetProperty("labels").GetProperty("instance").GetString()!,
                    Health: t.GetProperty("health").GetString()!, Error: t.GetProperty("lastError").GetString()))
                .ToList(),
            list => jobs.All(job => list.Any(t => t.Job == job)) && list.All(t => t.Health == "up")
                && list.Count(t => t.Job == "voicehive-orchestrator") == 2,
            "every target of every job to be up, each orchestrator replica among them", TimeSpan.FromMinutes(2), cancellationToken);

        Assert.Equal(jobs.Order(), targets.Select(t => t.Job).Distinct().Order());
        Assert.All(targets, t => Assert.True(t.Health == "up", $"{t.Job} {t.Instance}: {t.Error}"));
        Assert.Equal(2, targets.Where(t => t.Job == "voicehive-orchestrator").Select(t => t.Instance).Distinct().Count());
        Assert.Equal(2, targets.Where(t => t.Job == "voicehive-business-metrics").Select(t => t.Instance).Distinct().Count());
    }

    [Fact]
    public async Task TheTrafficResourceSendsOneCallASecondAndItsCommandsStopAndPaceIt()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var traffic = host.Client("traffic", ServiceTokens.Operations);
        var initial = await traffic.GetFromJsonAsync<JsonElement>("/traffic", cancellationToken);

        var stopped = await host.ExecuteCommandAsync("traffic", Operations.DashboardCommands.StopTraffic);
        var afterStop = await traffic.GetFromJsonAsync<JsonElement>("/traffic", cancellationToken);
        var refused = await host.ExecuteCommandAsync("traffic", Operations.DashboardCommands.SetTrafficRate, new Dictionary<string, string> { ["callsPerSecond"] = "500" });
        var paced = await host.ExecuteCommandAsync("traffic", Operations.DashboardCommands.SetTrafficRate, new Dictionary<string, string> { ["callsPerSecond"] = "2.5" });
        var started = await host.ExecuteCommandAsync("traffic", Operations.DashboardCommands.StartTraffic);
        var running = await Eventually.Until(() => traffic.GetFromJsonAsync<JsonElement>("/traffic", cancellationToken),
            state => state.GetProperty("callsCompleted").GetInt64() > afterStop.GetProperty("callsCompleted").GetInt64(),
            "traffic to flow again", TimeSpan.FromMinutes(1), cancellationToken);
        await host.ExecuteCommandAsync("traffic", Operations.DashboardCommands.SetTrafficRate, new Dictionary<string, string> { ["callsPerSecond"] = "1" });

        Assert.Equal(1, initial.GetProperty("callsPerSecond").GetDouble());
        Assert.True(initial.GetProperty("running").GetBoolean());
        Assert.True(stopped.Success, stopped.Message);
        Assert.False(afterStop.GetProperty("running").GetBoolean());
        Assert.False(refused.Success);
        Assert.True(paced.Success, paced.Message);
        Assert.True(started.Success, started.Message);
        Assert.Equal(2.5, running.GetProperty("callsPerSecond").GetDouble());
    }

    [Fact]
    public async Task TheOperatorTokenCommandIssuesATokenBothServicesAcceptForTheirOperatorEndpoints()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        var issued = await host.ExecuteCommandAsync("orchestrator", Operations.DashboardCommands.IssueOperatorToken);
        var token = issued.Data?.Value;
        using var orchestrator = host.Client("orchestrator");
        using var worker = host.Client("worker");
        using var withoutToken = await worker.GetAsync("/admin/dead-letters", cancellationToken);
        orchestrator.DefaultRequestHeaders.Authorization = new("Bearer", token);
        worker.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var alerts = await orchestrator.GetAsync("/monitoring/alerts", cancellationToken);
        using var deadLetters = await worker.GetAsync("/admin/dead-letters", cancellationToken);
        // The token is for operators: the call channel's scope is not in it.
        using var call = await orchestrator.PostAsJsonAsync("/api/calls", new { hotelId = "harbor-view", callerNumber = "+447700900123", language = "en" }, cancellationToken);

        Assert.True(issued.Success, issued.Message);
        Assert.False(string.IsNullOrEmpty(token));
        Assert.Equal(HttpStatusCode.Unauthorized, withoutToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, alerts.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deadLetters.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, call.StatusCode);
    }

    [Fact]
    public async Task TheDeadLetterCommandsListAndReplayThroughTheWorkersApi()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var worker = host.Client("worker", ServiceTokens.Operations);
        var initial = (await worker.GetFromJsonAsync<JsonElement>("/admin/dead-letters", cancellationToken)).GetProperty("count").GetInt64();
        // A poison event, so that there is a dead letter to list and replay.
        await host.PublishPoisonEventAsync(cancellationToken);

        var before = await Eventually.Until(() => worker.GetFromJsonAsync<JsonElement>("/admin/dead-letters", cancellationToken),
            list => list.GetProperty("count").GetInt64() > initial, "the poison event to be dead-lettered", TimeSpan.FromMinutes(1), cancellationToken);

        var listed = await host.ExecuteCommandAsync("worker", Operations.DashboardCommands.ListDeadLetters);
        var replayed = await host.ExecuteCommandAsync("worker", Operations.DashboardCommands.ReplayDeadLetters);
        var after = await worker.GetFromJsonAsync<JsonElement>("/admin/dead-letters", cancellationToken);

        Assert.True(listed.Success, listed.Message);
        // The command shows the worker's own answer, as JSON.
        var shown = JsonDocument.Parse(listed.Data?.Value ?? "null").RootElement;
        Assert.Equal(before.GetProperty("count").GetInt64(), shown.GetProperty("count").GetInt64());
        Assert.True(replayed.Success, replayed.Message);
        Assert.Equal($"{before.GetProperty("count").GetInt64()} dead-lettered events put back on the stream", replayed.Message);
        // Put back, the entries leave the dead-letter stream (the poison event returns later under a new id, failing again).
        var ids = before.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("id").GetString()).ToHashSet();
        Assert.DoesNotContain(after.GetProperty("entries").EnumerateArray(), e => ids.Contains(e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task PrometheusAlertmanagerAndTheServicesLinkTheirPagesInTheDashboard()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        var prometheus = await host.App.ResourceNotifications.WaitForResourceHealthyAsync("prometheus", cancellationToken);
        var alertmanager = await host.App.ResourceNotifications.WaitForResourceHealthyAsync("alertmanager", cancellationToken);
        var orchestrator = await host.App.ResourceNotifications.WaitForResourceHealthyAsync("orchestrator", cancellationToken);

        Assert.Contains(prometheus.Snapshot.Urls, u => u.DisplayProperties.DisplayName == "Prometheus alerts" && u.Url.EndsWith("/alerts", StringComparison.Ordinal));
        Assert.Contains(alertmanager.Snapshot.Urls, u => u.DisplayProperties.DisplayName == "Alertmanager");
        Assert.Contains(orchestrator.Snapshot.Urls, u => u.DisplayProperties.DisplayName == "API reference");
        using var http = new HttpClient();
        // The orchestrator's own address has no page; its API reference and document do.
        foreach (var url in prometheus.Snapshot.Urls.Concat(alertmanager.Snapshot.Urls).Concat(orchestrator.Snapshot.Urls.Where(u => u.DisplayProperties.DisplayName.Length > 0)))
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(url.Url, cancellationToken)).StatusCode);
        }

        var document = await http.GetFromJsonAsync<JsonElement>(orchestrator.Snapshot.Urls.Single(u => u.DisplayProperties.DisplayName == "OpenAPI document").Url, cancellationToken);
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString());
    }

    /// <summary>The scrape jobs of monitoring/prometheus/prometheus.yml.</summary>
    private static async Task<string[]> JobsAsync() =>
        (await File.ReadAllLinesAsync(Repository.Path("monitoring", "prometheus", "prometheus.yml")))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("- job_name: ", StringComparison.Ordinal))
            .Select(line => line["- job_name: ".Length..])
            .ToArray();
}
