using System.Globalization;

namespace VoiceHive.Benchmarks;

/// <summary>
/// 5. Resident memory of the orchestrator and the worker after sustained load at half the call capacity the
/// telemetry benchmark measured, against their memory after warm-up, both from /proc (VmRSS). Each figure is the median
/// of the samples in a window (the first and the last fifth of the measured load), not a few samples at its two ends:
/// a service's resident memory swings by 5 % or so within a minute as its GC heap fills and is collected, and three
/// samples caught wherever the swing was said more about that moment than about growth.
/// </summary>
public static class MemoryGrowth
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan WarmupStep = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan JitQuietPerStep = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan MaxWarmup = TimeSpan.FromMinutes(5);
    private static readonly int MaxWarmupSteps = (int)((MaxWarmup - Warmup) / WarmupStep) + 1;

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options, double? capacity)
    {
        if (capacity is not > 0 && options.MemoryRate is null)
        {
            throw new InvalidOperationException("The memory benchmark needs the call capacity from the telemetry benchmark (or --memory-rate).");
        }

        var rate = options.MemoryRate ?? capacity!.Value / 2;
        var loadSource = options.MemoryRate is null ? "half of the telemetered capacity" : "given by --memory-rate";
        List<double> orchestratorWarm = [], orchestratorEnd = [], orchestratorRatios = [];
        List<double> workerWarm = [], workerEnd = [], workerRatios = [];
        long calls = 0, failures = 0;
        List<TimeSpan> warmups = [];
        List<(long Min, long Max)> swings = [];
        for (var run = 1; run <= options.Runs; run++)
        {
            var settings = (await environment.CreateSettingsAsync("memory")).WithoutPmsLatency();
            await using var orchestrator = await ServiceProcess.OrchestratorAsync(settings);
            await using var worker = await ServiceProcess.WorkerAsync(settings);
            await using var prometheus = await PrometheusServer.StartAsync(Scrape.EverySecond(orchestrator.Address, worker.Address));
            using var http = CallTraffic.CreateClient(orchestrator.Address);

            // Warm-up: at least Warmup, and until tiered compilation is over in both services (their tiered-compilation threads
            // used under 1 % of a core over the last WarmupStep), as in the telemetry benchmark: the code the runtime compiles
            // and recompiles in its first minutes under load, and the native memory that takes, is start-up, not growth.
            var warm = await CallTraffic.OpenLoopAsync(http, rate, Warmup - WarmupStep);
            var steps = await JitWarmup.UntilCompiledAsync([("orchestrator", orchestrator), ("worker", worker)], async _ =>
            {
                var step = await CallTraffic.OpenLoopAsync(http, rate, WarmupStep);
                warm = warm with { Calls = warm.Calls + step.Calls, Failures = warm.Failures + step.Failures };
            }, JitQuietPerStep, MaxWarmupSteps);
            warmups.Add(Warmup + (steps - 1) * WarmupStep);
            var samples = new List<(TimeSpan At, long Orchestrator, long Worker)>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(SampleEvery);
                while (await timer.WaitForNextTickAsync(sampling.Token))
                {
                    samples.Add((clock.Elapsed, orchestrator.ResidentBytes(), worker.ResidentBytes()));
                }
            });
            var load = await CallTraffic.OpenLoopAsync(http, rate, options.MemoryDuration, reportEvery: TimeSpan.FromMinutes(1));
            await sampling.CancelAsync();
            try
            {
                await sampler;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }

            // Start and end figures: the medians of the samples in the first and the last fifth of the load (2 min of 10).
            var window = options.MemoryDuration / 5;
            var first = samples.Where(s => s.At <= window).ToList();
            var last = samples.Where(s => s.At >= options.MemoryDuration - window).ToList();
            if (first.Count == 0 || last.Count == 0)
            {
                throw new InvalidOperationException($"Too few memory samples in {options.MemoryDuration}: --memory-minutes must cover at least one {SampleEvery.TotalSeconds:F0} s sample per fifth.");
            }

            var orchestratorStart = Stats.Median(first.Select(s => (double)s.Orchestrator));
            var workerStart = Stats.Median(first.Select(s => (double)s.Worker));
            var orchestratorFinal = Stats.Median(last.Select(s => (double)s.Orchestrator));
            var workerFinal = Stats.Median(last.Select(s => (double)s.Worker));
            swings.Add((samples.Min(s => s.Worker), samples.Max(s => s.Worker)));
            orchestratorWarm.Add(orchestratorStart);
            orchestratorEnd.Add(orchestratorFinal);
            orchestratorRatios.Add(orchestratorFinal / orchestratorStart);
            workerWarm.Add(workerStart);
            workerEnd.Add(workerFinal);
            workerRatios.Add(workerFinal / workerStart);
            calls += warm.Calls + load.Calls;
            failures += warm.Failures + load.Failures;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run} (warm-up {warmups[^1].TotalSeconds:F0} s): orchestrator {orchestratorStart / 1048576.0:F0} → {orchestratorFinal / 1048576.0:F0} MiB, worker {workerStart / 1048576.0:F0} → {workerFinal / 1048576.0:F0} MiB (samples {swings[^1].Min / 1048576.0:F0}–{swings[^1].Max / 1048576.0:F0}) ({load.CallsPerSecond:F1} calls/s, {load.Failures} failed)"));
        }

        var startLabel = string.Create(CultureInfo.InvariantCulture, $"first {options.MemoryDuration.TotalMinutes / 5:0.#} min of the load, after warm-up");
        var notes = string.Create(CultureInfo.InvariantCulture,
            $"Load: {rate:F1} calls/s ({loadSource}), open loop, for a warm-up, then {options.MemoryDuration.TotalMinutes:F0} min. The warm-up lasts at least {Warmup.TotalSeconds:F0} s and until tiered compilation is over in both services (their tiered-compilation threads used at most {JitQuietPerStep.TotalMilliseconds:F0} ms of CPU in the last {WarmupStep.TotalSeconds:F0} s; at most {MaxWarmup.TotalMinutes:F0} min): {string.Join(", ", warmups.Select(w => w.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)))} s in these runs; fresh processes and database each run; Prometheus scraping both services every second; telemetry on with OTLP export. {calls} calls, {failures} failed or skipped. Resident memory sampled every {SampleEvery.TotalSeconds:F0} s through the {options.MemoryDuration.TotalMinutes:F0} min; start figure: the median of the samples in its first fifth, end figure: of those in its last fifth (the worker's samples ranged {string.Join(", ", swings.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Min / 1048576.0:F0}–{w.Max / 1048576.0:F0}")))} MiB in these runs).");
        return
        [
            new Figure("5. Memory", "orchestrator resident memory after sustained load", "MiB", Stats.Median(orchestratorEnd) / 1048576, startLabel,
                Stats.Median(orchestratorWarm) / 1048576, orchestratorRatios, "< 1.05", f => f.MedianRatio < 1.05, notes),
            new Figure("5. Memory", "worker resident memory after sustained load", "MiB", Stats.Median(workerEnd) / 1048576, startLabel,
                Stats.Median(workerWarm) / 1048576, workerRatios, "< 1.05", f => f.MedianRatio < 1.05, "Same runs as the orchestrator's figure."),
        ];
    }
}
