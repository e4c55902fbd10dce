using System.Globalization;

namespace VoiceHive.Benchmarks;

/// <summary>
/// 1. Throughput of the full call flow with metrics, tracing at 100 % (exported over OTLP) and Prometheus
/// scraping both endpoints every second, against the same build with METRICS_ENABLED=false
/// TRACING_ENABLED=false. The simulated PMS answers at once, so the figure is the services' own cost.
/// </summary>
public static class TelemetryOverhead
{
    private const int Concurrency = 16;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(15);

    public static async Task<Figure> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        var settings = (await environment.CreateSettingsAsync("telemetry"))
            .With(("Pms__Simulator__LatencyMedianMs", "0"), ("Pms__Simulator__LatencyP95Ms", "0"));
        var telemetered = settings;
        var untelemetered = settings.With(("METRICS_ENABLED", "false"), ("TRACING_ENABLED", "false"));
        List<double> on = [], off = [], ratios = [];
        long exports = 0, failedCalls = 0;
        for (var run = 1; run <= options.Runs; run++)
        {
            // Alternate which goes first, so that a machine getting busier or quieter does not favour one.
            double withTelemetry, without;
            if (run % 2 == 1)
            {
                withTelemetry = await MeasureAsync(telemetered, counted: true);
                without = await MeasureAsync(untelemetered, counted: false);
            }
            else
            {
                without = await MeasureAsync(untelemetered, counted: false);
                withTelemetry = await MeasureAsync(telemetered, counted: true);
            }

            on.Add(withTelemetry);
            off.Add(without);
            ratios.Add(withTelemetry / without);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: {withTelemetry:F1} vs {without:F1} calls/s → {withTelemetry / without:F3}"));
        }

        async Task<double> MeasureAsync(ServiceSettings configuration, bool counted)
        {
            await using var orchestrator = await ServiceProcess.OrchestratorAsync(configuration);
            await using var prometheus = await PrometheusServer.StartAsync(Scrape.EverySecond(orchestrator.Address));
            using var http = CallTraffic.CreateClient(orchestrator.Address);
            await CallTraffic.ClosedLoopAsync(http, Concurrency, Warmup);
            var before = environment.OtlpRequests;
            var result = await CallTraffic.ClosedLoopAsync(http, Concurrency, Measured);
            exports += counted ? environment.OtlpRequests - before : 0;
            failedCalls += result.Failures;
            return result.CallsPerSecond;
        }

        return new Figure("1. Telemetry overhead", "full calls per second (start, 3 turns, end), 16 callers", "calls/s",
            Stats.Median(on), "METRICS_ENABLED=false TRACING_ENABLED=false", Stats.Median(off), ratios,
            "≥ 0.95", f => f.MedianRatio >= 0.95,
            string.Create(CultureInfo.InvariantCulture,
                $"Each measurement: a fresh orchestrator process, {Warmup.TotalSeconds:F0} s warm-up, {Measured.TotalSeconds:F0} s measured, Prometheus scraping /metrics and /monitoring/metrics every second in both configurations, OTLP/HTTP export to a sink ({exports} export requests in the telemetered runs), simulated PMS without latency, durable PostgreSQL. {failedCalls} calls failed in all."));
    }
}

/// <summary>Prometheus configurations for the benchmarks.</summary>
public static class Scrape
{
    /// <summary>Both of a service's scrape endpoints, every second (the repository's jobs scrape every 15 s).</summary>
    public static string EverySecond(params Uri[] services)
    {
        var targets = string.Join(", ", services.Select(s => $"'{s.Authority}'"));
        return $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: voicehive
                static_configs: [{"{"} targets: [{targets}] {"}"}]
              - job_name: voicehive-business-metrics
                metrics_path: /monitoring/metrics
                static_configs: [{"{"} targets: [{targets}] {"}"}]
            """;
    }
}
