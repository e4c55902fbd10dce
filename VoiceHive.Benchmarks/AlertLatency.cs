using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace VoiceHive.Benchmarks;

/// <summary>
/// 6. From a PMS fault injected through the simulator's admin endpoint to CallSuccessRateLow stored by the
/// webhook, against the sum of the rule's <c>for</c>, the evaluation interval and Alertmanager's
/// <c>group_wait</c>. The repository's rules run at test speed (1 s scrape and evaluation, 20 s windows,
/// <c>for: 5s</c>) so that five runs fit in minutes; Alertmanager keeps its own configuration (group_wait 10 s).
/// </summary>
public static class AlertLatency
{
    private const double ForSeconds = 5;
    private const double EvaluationSeconds = 1;
    private const double GroupWaitSeconds = 10;
    private const double CallsPerSecond = 5;

    public static async Task<Figure> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        // Development: the simulator's admin endpoint, which injects the fault, exists only there.
        var settings = (await environment.CreateSettingsAsync("alerts")).With(("ASPNETCORE_ENVIRONMENT", "Development"));
        await using var orchestrator = await ServiceProcess.OrchestratorAsync(settings);
        var secrets = await MonitoringFiles.AlertmanagerSecretsAsync("http://127.0.0.1:9/slack-not-configured", "pagerduty-not-configured", BenchmarkEnvironment.WebhookToken);
        await using var alertmanager = await AlertmanagerServer.StartAsync(MonitoringFiles.AlertmanagerConfig(secrets, orchestrator.Address));
        var files = MonitoringFiles.RulesAtTestSpeed();
        files["targets/orchestrator.json"] = $$"""[{"targets": ["{{orchestrator.Address.Authority}}"]}]""";
        files["targets/alertmanager.json"] = $$"""[{"targets": ["127.0.0.1:{{alertmanager.Port.ToString(CultureInfo.InvariantCulture)}}"]}]""";
        await using var prometheus = await PrometheusServer.StartAsync(MonitoringFiles.PrometheusConfigAtTestSpeed(), files);

        using var http = CallTraffic.CreateClient(orchestrator.Address);
        using var admin = new HttpClient { BaseAddress = orchestrator.Address };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchmarkEnvironment.SimulatorAdminToken);
        using var stop = new CancellationTokenSource();
        var traffic = CallTraffic.OpenLoopAsync(http, CallsPerSecond, TimeSpan.FromHours(1), cancellationToken: stop.Token);
        var expected = ForSeconds + EvaluationSeconds + GroupWaitSeconds;
        List<double> latencies = [], ratios = [];
        try
        {
            // A window of healthy traffic first, as in production.
            await Task.Delay(TimeSpan.FromSeconds(25));
            for (var run = 1; run <= options.Runs; run++)
            {
                var injected = DateTimeOffset.UtcNow;
                (await admin.PutAsJsonAsync("admin/pms-simulator", new { hotelId = (string?)null, latencyMedianMs = 0, latencyP95Ms = 0, failureRate = 1.0 })).EnsureSuccessStatusCode();
                var alert = await Eventually.Until(() => FiringAsync(http, injected), a => a is not null, "CallSuccessRateLow to be stored", TimeSpan.FromMinutes(3));
                var latency = (alert!.Value.ReceivedAt - injected).TotalSeconds;
                latencies.Add(latency);
                ratios.Add(latency / expected);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: stored {latency:F1} s after the fault (expected sum {expected:F0} s)"));

                (await admin.DeleteAsync("admin/pms-simulator")).EnsureSuccessStatusCode();
                await Eventually.Until(() => ResolvedAsync(http, alert.Value.Id), done => done, "CallSuccessRateLow to resolve", TimeSpan.FromMinutes(3));
                // Alertmanager drops an empty aggregation group at its next maintenance (every 30 s); until then a new
                // alert of the group would wait group_interval instead of group_wait.
                await Task.Delay(TimeSpan.FromSeconds(35));
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await traffic;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        return new Figure("6. Alert latency", "fault injected → CallSuccessRateLow stored by the webhook", "s", Stats.Median(latencies),
            "for + evaluation interval + group_wait", expected, ratios, "within 5 s of the sum", f => f.MedianValue - f.MedianBaseline <= 5,
            string.Create(CultureInfo.InvariantCulture,
                $"Latencies per run: {string.Join(", ", latencies.Select(l => l.ToString("F1", CultureInfo.InvariantCulture)))} s. The fault fails every PMS request; traffic {CallsPerSecond:F0} calls/s. Rules at test speed (for {ForSeconds:F0} s, evaluation {EvaluationSeconds:F0} s, 20 s rate windows, 1 s scrapes), Alertmanager's group_wait {GroupWaitSeconds:F0} s as configured. The measured time also holds what the sum leaves out: the failing calls' own duration, the scrape that sees them, and the delivery to the webhook. Between runs the fault is lifted, the alert resolves, and Alertmanager's empty group is left 35 s to expire."));
    }

    private static async Task<(long Id, DateTimeOffset ReceivedAt)?> FiringAsync(HttpClient http, DateTimeOffset after)
    {
        var alerts = await http.GetFromJsonAsync<JsonElement>("monitoring/alerts?status=firing");
        foreach (var alert in alerts.EnumerateArray())
        {
            var receivedAt = alert.GetProperty("receivedAt").GetDateTimeOffset();
            if (alert.GetProperty("alertName").GetString() == "CallSuccessRateLow" && receivedAt > after)
            {
                return (alert.GetProperty("id").GetInt64(), receivedAt);
            }
        }

        return null;
    }

    private static async Task<bool> ResolvedAsync(HttpClient http, long id)
    {
        var alerts = await http.GetFromJsonAsync<JsonElement>("monitoring/alerts?status=resolved");
        return alerts.EnumerateArray().Any(alert => alert.GetProperty("id").GetInt64() == id);
    }
}
