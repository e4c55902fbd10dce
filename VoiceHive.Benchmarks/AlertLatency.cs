using System.Globalization;
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
    private static readonly TimeSpan HealthyWindow = TimeSpan.FromSeconds(25);

    public static async Task<Figure> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        // Development: the simulator's admin endpoint, which injects the fault, exists only there.
        var settings = (await environment.CreateSettingsAsync("alerts")).With(("ASPNETCORE_ENVIRONMENT", "Development"));
        await using var orchestrator = await ServiceProcess.OrchestratorAsync(settings);
        using var http = CallTraffic.CreateClient(orchestrator.Address);
        using var admin = new HttpClient { BaseAddress = orchestrator.Address }.WithToken(BenchmarkEnvironment.OperationsToken);
        var prometheusSecrets = await MonitoringFiles.PrometheusSecretsAsync(BenchmarkEnvironment.ScrapeToken);
        using var stop = new CancellationTokenSource();
        var traffic = CallTraffic.OpenLoopAsync(http, CallsPerSecond, TimeSpan.FromHours(1), cancellationToken: stop.Token);
        var expected = ForSeconds + EvaluationSeconds + GroupWaitSeconds;
        List<double> latencies = [], ratios = [];
        try
        {
            for (var run = 1; run <= options.Runs; run++)
            {
                // A fresh Prometheus and Alertmanager each run. Prometheus re-sends a resolved alert for 15 minutes, which
                // keeps Alertmanager's aggregation group alive; a later firing of the same group then waits for the
                // group's next group_interval tick instead of group_wait, and the measurement would be of that.
                await using var alertmanager = await AlertmanagerServer.StartAsync(MonitoringFiles.AlertmanagerConfig(
                    "http://127.0.0.1:9/slack-not-configured", "pagerduty-not-configured", BenchmarkEnvironment.WebhookToken, orchestrator.Address));
                var files = MonitoringFiles.RulesAtTestSpeed();
                files["targets/orchestrator.json"] = $$"""[{"targets": ["{{orchestrator.Address.Authority}}"]}]""";
                files["targets/alertmanager.json"] = $$"""[{"targets": ["127.0.0.1:{{alertmanager.Port.ToString(CultureInfo.InvariantCulture)}}"]}]""";
                await using var prometheus = await PrometheusServer.StartAsync(MonitoringFiles.PrometheusConfigAtTestSpeed(prometheusSecrets), files);

                // A full rate window of healthy traffic first, as in production.
                await Task.Delay(HealthyWindow);
                var injected = DateTimeOffset.UtcNow;
                (await admin.PutAsJsonAsync("admin/pms-simulator", new { hotelId = (string?)null, latencyMedianMs = 0, latencyP95Ms = 0, failureRate = 1.0 })).EnsureSuccessStatusCode();
                var alert = await Eventually.Until(() => FiringAsync(admin, injected), a => a is not null, "CallSuccessRateLow to be stored", TimeSpan.FromMinutes(3));
                var latency = (alert!.Value.ReceivedAt - injected).TotalSeconds;
                latencies.Add(latency);
                ratios.Add(latency / expected);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: stored {latency:F1} s after the fault (expected sum {expected:F0} s)"));
                (await admin.DeleteAsync("admin/pms-simulator")).EnsureSuccessStatusCode();
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
            "for + evaluation interval + group_wait", expected, ratios, "within 3 s of the sum",
            // Either way: a latency well under the sum is no better, it means group_wait was not measured (see Profiling.md, 6).
            f => Math.Abs(f.MedianValue - f.MedianBaseline) <= 3,
            string.Create(CultureInfo.InvariantCulture,
                $"Latencies per run: {string.Join(", ", latencies.Select(l => l.ToString("F1", CultureInfo.InvariantCulture)))} s. The fault fails every PMS request; traffic {CallsPerSecond:F0} calls/s. Rules at test speed (for {ForSeconds:F0} s, evaluation {EvaluationSeconds:F0} s, 20 s rate windows, 1 s scrapes), Alertmanager's group_wait {GroupWaitSeconds:F0} s as configured. Each run starts a fresh Prometheus and Alertmanager and lets {HealthyWindow.TotalSeconds:F0} s of healthy traffic fill the rate window before the fault. The measured time also holds what the sum leaves out: the failing calls' own duration, the scrape that sees them, and the delivery to the webhook."));
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
}
