using System.Net.Http.Json;
using System.Text.Json;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>The Alertmanager configuration: checked by amtool, its routes tested, and delivering for real.</summary>
public sealed class AlertmanagerConfigTests(SharedServers servers)
{
    private static readonly string ConfigFile = Repository.Path("monitoring", "alertmanager", "alertmanager.yml");

    [Fact]
    public async Task TheConfigurationPassesAmtoolCheckConfig()
    {
        var result = await Amtool.RunAsync("check-config", ConfigFile);

        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Theory]
    [InlineData("severity=critical alertname=CallSuccessRateLow service=voicehive-orchestrator", "voicehive-webhook,pagerduty-critical")]
    [InlineData("severity=critical alertname=RedisDown service=redis", "voicehive-webhook,pagerduty-critical")]
    [InlineData("severity=warning alertname=PMSResponseTimeSlow service=voicehive-orchestrator hotel_id=grand-plaza", "voicehive-webhook,slack-warnings")]
    [InlineData("severity=warning alertname=EventsDeadLettered service=voicehive-worker", "voicehive-webhook,slack-warnings")]
    [InlineData("severity=info alertname=Watchdog", "voicehive-webhook")]
    [InlineData("alertname=NoSeverity", "voicehive-webhook")]
    public async Task EachRouteReachesItsReceivers(string labels, string receivers)
    {
        var result = await Amtool.RunAsync(["config", "routes", "test", $"--config.file={ConfigFile}", $"--verify.receivers={receivers}", .. labels.Split(' ')]);

        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Fact]
    public void NoSecretIsInTheCommittedFile()
    {
        var text = File.ReadAllText(ConfigFile);

        Assert.DoesNotContain("hooks.slack.com", text, StringComparison.Ordinal);
        Assert.Contains("slack_api_url_file: /etc/alertmanager/secrets/slack_webhook_url", text, StringComparison.Ordinal);
        Assert.Contains("routing_key_file: /etc/alertmanager/secrets/pagerduty_routing_key", text, StringComparison.Ordinal);
        Assert.Contains("credentials_file: /etc/alertmanager/secrets/alert_webhook_token", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\s*(routing_key|service_key|api_url|credentials):", text);
    }

    [Fact]
    public async Task AlertsAreDeliveredToTheWebhookSlackAndPagerDutyWithSummaryHotelAndRunbook()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var slack = await ProgrammableHttpServer.StartAsync();
        await using var pagerDuty = await ProgrammableHttpServer.StartPagerDutyAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["ALERT_WEBHOOK_TOKEN"] = "am-token" });
        orchestrator.UseRealPort();
        await using var alertmanager = await AlertmanagerServer.StartAsync(MonitoringFiles.AlertmanagerConfig(
            new Uri(slack.Address, "/services/T000/B000/XXXX").ToString(), "R0UT1NGKEY", "am-token", orchestrator.Address, pagerDuty.Address));

        using var post = await alertmanager.Http.PostAsJsonAsync("api/v2/alerts", new[]
        {
            Alert("PMSResponseTimeSlow", "warning", "grand-plaza", "95th percentile PMS response time is 3.10s for hotel grand-plaza"),
            Alert("CallSuccessRateLow", "critical", null, "Call success rate is 91.20% which is below the 99% SLA threshold"),
        }, cancellationToken);
        post.EnsureSuccessStatusCode();

        try
        {
            await Eventually.Until(() => Task.FromResult(slack.Requests.Count >= 1 && pagerDuty.Requests.Count >= 1), "Slack and PagerDuty to be notified",
                cancellationToken: cancellationToken);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"{exception.Message}\nAlertmanager's log:\n{alertmanager.TailOfLog()}", exception);
        }

        using var client = orchestrator.CreateClient();
        var stored = await Eventually.Until(() => client.GetFromJsonAsync<JsonElement>("/monitoring/alerts", cancellationToken),
            alerts => alerts.GetArrayLength() == 2, "the webhook to store both alerts", cancellationToken: cancellationToken);

        var slackMessage = slack.Requests.First().Body;
        Assert.Contains("PMS response time is slow", slackMessage, StringComparison.Ordinal);
        Assert.Contains("hotel grand-plaza", slackMessage, StringComparison.Ordinal);
        Assert.Contains("3.10s", slackMessage, StringComparison.Ordinal);
        Assert.Contains("docs/runbooks/PMSResponseTimeSlow.md", slackMessage, StringComparison.Ordinal);
        Assert.Contains("#alerts", slackMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("CallSuccessRateLow", slackMessage, StringComparison.Ordinal);
        var page = JsonDocument.Parse(pagerDuty.Requests.First().Body).RootElement;
        Assert.Equal("R0UT1NGKEY", page.GetProperty("routing_key").GetString());
        Assert.Equal("trigger", page.GetProperty("event_action").GetString());
        Assert.Contains("CallSuccessRateLow", page.GetProperty("payload").GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Contains("91.20%", page.GetProperty("payload").GetProperty("custom_details").GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Equal(["CallSuccessRateLow", "PMSResponseTimeSlow"], stored.EnumerateArray().Select(a => a.GetProperty("alertName").GetString()).Order());
    }

    [Fact]
    public async Task ACriticalAlertAndServiceDownInhibitTheWarningsTheyExplain()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var alertmanager = await AlertmanagerServer.StartAsync(MonitoringFiles.AlertmanagerConfig("http://127.0.0.1:9/", "x", "x"));

        using var post = await alertmanager.Http.PostAsJsonAsync("api/v2/alerts", new[]
        {
            Labelled("HttpLatencyHigh", "critical", "voicehive-orchestrator"),
            Labelled("HttpLatencyHigh", "warning", "voicehive-orchestrator"),
            Labelled("ServiceDown", "critical", "voicehive-worker"),
            Labelled("WorkerConsumerLagHigh", "warning", "voicehive-worker"),
            Labelled("HighErrorRate", "warning", "voicehive-orchestrator"),
        }, cancellationToken);
        post.EnsureSuccessStatusCode();

        var states = await Eventually.Until(async () =>
            {
                var alerts = await alertmanager.Http.GetFromJsonAsync<JsonElement>("api/v2/alerts", cancellationToken);
                return alerts.EnumerateArray().ToDictionary(
                    a => $"{a.GetProperty("labels").GetProperty("alertname").GetString()}/{a.GetProperty("labels").GetProperty("severity").GetString()}",
                    a => a.GetProperty("status").GetProperty("state").GetString());
            },
            s => s.Count == 5 && s["HttpLatencyHigh/warning"] == "suppressed" && s["WorkerConsumerLagHigh/warning"] == "suppressed",
            "the inhibitions to apply", cancellationToken: cancellationToken);

        Assert.Equal("active", states["HttpLatencyHigh/critical"]);
        Assert.Equal("active", states["ServiceDown/critical"]);
        Assert.Equal("active", states["HighErrorRate/warning"]);
    }

    private static object Labelled(string name, string severity, string service) => new
    {
        labels = new Dictionary<string, string> { ["alertname"] = name, ["severity"] = severity, ["service"] = service },
        annotations = new Dictionary<string, string> { ["summary"] = name },
        startsAt = DateTimeOffset.UtcNow.AddMinutes(-1),
    };

    private static object Alert(string name, string severity, string? hotel, string description)
    {
        var labels = new Dictionary<string, string> { ["alertname"] = name, ["severity"] = severity, ["service"] = "voicehive-orchestrator" };
        if (hotel is not null)
        {
            labels["hotel_id"] = hotel;
        }

        return new
        {
            labels,
            annotations = new Dictionary<string, string>
            {
                ["summary"] = name == "PMSResponseTimeSlow" ? "PMS response time is slow" : "Call success rate below SLA threshold",
                ["description"] = description,
                ["runbook_url"] = $"docs/runbooks/{name}.md",
            },
            startsAt = DateTimeOffset.UtcNow.AddMinutes(-1),
        };
    }
}
