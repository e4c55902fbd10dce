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
    private const int Rounds = 4;
    private static readonly TimeSpan WarmupSlice = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Slice = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    private const int MaxWarmupRounds = 10;

    /// <summary>Tiered-compilation CPU in one warm-up round (16 s of wall time) below which a process counts as warm: 1 %.</summary>
    private static readonly TimeSpan JitQuiet = TimeSpan.FromMilliseconds(160);

    public static async Task<Figure> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        List<double> on = [], off = [], ratios = [], positionBias = [];
        List<int> warmupRounds = [];
        List<(TimeSpan On, TimeSpan Off)> jitMeasured = [];
        long exports = 0, failedCalls = 0;
        for (var run = 1; run <= options.Runs; run++)
        {
            // Each run has two halves. In each, both configurations run side by side (fresh processes, each with its own
            // database) and the load alternates between them in short slices (ABBA), so the shared machine's ups and
            // downs fall on both. An A/A trial (two identical processes) still favoured the first slot by 4–10 %, for no
            // cause found, so the second half swaps the slots and the run's ratio is the geometric mean of the halves.
            var first = await MeasureHalfAsync(telemeteredFirst: true);
            var second = await MeasureHalfAsync(telemeteredFirst: false);
            var rateOn = Math.Sqrt(first.On * second.On);
            var rateOff = Math.Sqrt(first.Off * second.Off);
            var ratio = Math.Sqrt(first.On / first.Off * (second.On / second.Off));
            on.Add(rateOn);
            off.Add(rateOff);
            ratios.Add(ratio);
            positionBias.Add(Math.Sqrt(first.On / first.Off / (second.On / second.Off)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: {rateOn:F1} vs {rateOff:F1} calls/s → {ratio:F3} (halves {first.On / first.Off:F3}, {second.On / second.Off:F3})"));
        }

        async Task<(double On, double Off)> MeasureHalfAsync(bool telemeteredFirst)
        {
            var telemetry = (await environment.CreateSettingsAsync("telemetry")).WithoutPmsLatency();
            var bare = (await environment.CreateSettingsAsync("telemetry_off")).WithoutPmsLatency()
                .With(("METRICS_ENABLED", "false"), ("TRACING_ENABLED", "false"));
            await using var slotA = await ServiceProcess.OrchestratorAsync(telemeteredFirst ? telemetry : bare);
            await using var slotB = await ServiceProcess.OrchestratorAsync(telemeteredFirst ? bare : telemetry);
            await using var prometheus = await PrometheusServer.StartAsync(Scrape.EverySecond(slotA.Address, slotB.Address));
            using var clientA = CallTraffic.CreateClient(slotA.Address);
            using var clientB = CallTraffic.CreateClient(slotB.Address);
            // Warm-up in the same alternation until tiered compilation is over in both processes (neither's tiered-compilation
            // threads used more than JitQuiet of CPU in the last warm-up round), then a pause. Measured while the runtime still
            // recompiles in the background, the figure is the telemetry's warm-up (its extra code to compile), not its cost:
            // a CPU profile of the old fixed 8 s warm-up found 42 % of the telemetered process's CPU in the measured rounds
            // in the tiered-compilation thread, against 28 % of the bare one's (Profiling.md).
            warmupRounds.Add(await JitWarmup.UntilCompiledAsync([("slot A", slotA), ("slot B", slotB)], async _ =>
            {
                foreach (var client in (HttpClient[])[clientA, clientB, clientB, clientA])
                {
                    await CallTraffic.ClosedLoopAsync(client, Concurrency, WarmupSlice);
                }
            }, JitQuiet, MaxWarmupRounds));
            await Task.Delay(Settle);
            long callsA = 0, callsB = 0;
            TimeSpan timeA = TimeSpan.Zero, timeB = TimeSpan.Zero;
            var exportsBefore = environment.OtlpRequests;
            var (measuredA, measuredB) = (slotA.TieredCompilation(), slotB.TieredCompilation());
            for (var round = 0; round < Rounds; round++)
            {
                foreach (var a in round % 2 == 0 ? (bool[])[true, false] : [false, true])
                {
                    var result = await CallTraffic.ClosedLoopAsync(a ? clientA : clientB, Concurrency, Slice);
                    failedCalls += result.Failures;
                    if (a)
                    {
                        (callsA, timeA) = (callsA + result.Calls, timeA + result.Elapsed);
                    }
                    else
                    {
                        (callsB, timeB) = (callsB + result.Calls, timeB + result.Elapsed);
                    }
                }
            }

            exports += environment.OtlpRequests - exportsBefore;
            var (measuredJitA, measuredJitB) = (slotA.TieredCompilation().Since(measuredA), slotB.TieredCompilation().Since(measuredB));
            jitMeasured.Add(telemeteredFirst ? (measuredJitA, measuredJitB) : (measuredJitB, measuredJitA));
            var (rateA, rateB) = (callsA / timeA.TotalSeconds, callsB / timeB.TotalSeconds);
            return telemeteredFirst ? (rateA, rateB) : (rateB, rateA);
        }

        return new Figure("1. Telemetry overhead", $"full calls per second (start, 3 turns, end), {Concurrency} callers", "calls/s",
            Stats.Median(on), "METRICS_ENABLED=false TRACING_ENABLED=false", Stats.Median(off), ratios,
            "≥ 0.95", f => f.MedianRatio >= 0.95,
            string.Create(CultureInfo.InvariantCulture,
                $"Each run has two halves with the slots swapped; in each, two fresh orchestrator processes run side by side, one per configuration, warm-up in rounds of a {WarmupSlice.TotalSeconds:F0} s slice on each in ABBA order until neither process's tiered-compilation threads used more than {JitQuiet.TotalMilliseconds:F0} ms of CPU in a round (rounds per half: {string.Join(", ", warmupRounds)}; at most {MaxWarmupRounds}), then {Settle.TotalSeconds:F0} s idle, then {Rounds} rounds of a {Slice.TotalSeconds:F0} s slice on each in ABBA order. The run's figures are the geometric means of its halves; the slot bias the swap removed was {Stats.Median(positionBias):F3} (median). Prometheus scrapes /metrics and /monitoring/metrics of both every second; the telemetered one exports traces (100 % sampled), metrics and logs over OTLP/HTTP to a sink ({exports} export requests in all). Tiered compilation during the measured rounds, median of the halves: {Stats.Median(jitMeasured.Select(j => j.On.TotalMilliseconds)):F0} ms of CPU in the telemetered process, {Stats.Median(jitMeasured.Select(j => j.Off.TotalMilliseconds)):F0} ms in the bare one. Simulated PMS without latency; durable PostgreSQL. {failedCalls} calls failed in all."));
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
                authorization: {"{"} credentials: {BenchmarkEnvironment.ScrapeToken} {"}"}
                static_configs: [{"{"} targets: [{targets}] {"}"}]
              - job_name: voicehive-business-metrics
                metrics_path: /monitoring/metrics
                authorization: {"{"} credentials: {BenchmarkEnvironment.ScrapeToken} {"}"}
                static_configs: [{"{"} targets: [{targets}] {"}"}]
            """;
    }
}
