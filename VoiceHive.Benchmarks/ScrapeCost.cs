using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Npgsql;

namespace VoiceHive.Benchmarks;

/// <summary>
/// 2. Latency per series of a scrape of 10,000+ series through the OpenTelemetry Prometheus exporter, with real label
/// sets (hotels × outcomes × PMS operations × histogram buckets, made by real calls), against prometheus-node-exporter's own /metrics
/// (the Go reference client) scraped by the same loop in the same run; and bytes allocated per series,
/// read from each process's own counter (<c>dotnet_gc_heap_total_allocated_bytes_total</c>, <c>go_memstats_alloc_bytes_total</c>).
/// Both are asked for the text format 0.0.4 without compression.
/// </summary>
public static class ScrapeCost
{
    private const int TargetSeries = 10_000;
    private const int Scrapes = 200;
    private const int WarmupScrapes = 20;
    private static readonly string[] Outcomes = ["resolved", "transferred", "abandoned", "dropped"];

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        var settings = (await environment.CreateSettingsAsync("scrape")).WithoutPmsLatency();
        await using var orchestrator = await ServiceProcess.OrchestratorAsync(settings);
        await using var node = await ExporterProcess.NodeAsync();
        using var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        http.DefaultRequestHeaders.Accept.Add(MediaTypeWithQualityHeaderValue.Parse("text/plain; version=0.0.4"));
        // Prometheus's credential for the services (node_exporter ignores it).
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchmarkEnvironment.ScrapeToken);
        var ours = new Uri(orchestrator.Address, "/monitoring/metrics");
        var theirs = new Uri($"http://{node.Target}/metrics");

        var hotels = await FillAsync(settings, orchestrator.Address, http, ours);
        var ourSeries = CountSeries(await http.GetStringAsync(ours));
        var theirSeries = CountSeries(await http.GetStringAsync(theirs));
        Console.WriteLine($"{ourSeries} series from {hotels} hotels; node_exporter: {theirSeries} series");

        List<double> ourLatency = [], theirLatency = [], latencyRatios = [];
        List<double> ourBytes = [], theirBytes = [], allocationRatios = [];
        for (var run = 1; run <= options.Runs; run++)
        {
            double ourPerSeries, theirPerSeries;
            if (run % 2 == 1)
            {
                ourPerSeries = await MedianLatencyAsync(http, ours) / ourSeries;
                theirPerSeries = await MedianLatencyAsync(http, theirs) / theirSeries;
            }
            else
            {
                theirPerSeries = await MedianLatencyAsync(http, theirs) / theirSeries;
                ourPerSeries = await MedianLatencyAsync(http, ours) / ourSeries;
            }

            ourLatency.Add(ourPerSeries);
            theirLatency.Add(theirPerSeries);
            latencyRatios.Add(ourPerSeries / theirPerSeries);

            var ourAllocation = await AllocatedPerScrapeAsync(http, ours, new Uri(orchestrator.Address, "/metrics"), "dotnet_gc_heap_total_allocated_bytes_total") / ourSeries;
            var theirAllocation = await AllocatedPerScrapeAsync(http, theirs, theirs, "go_memstats_alloc_bytes_total") / theirSeries;
            ourBytes.Add(ourAllocation);
            theirBytes.Add(theirAllocation);
            allocationRatios.Add(ourAllocation / theirAllocation);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: {ourPerSeries:F3} vs {theirPerSeries:F3} µs/series; {ourAllocation:F0} vs {theirAllocation:F0} bytes/series"));
        }

        var notes = string.Create(CultureInfo.InvariantCulture,
            $"VoiceHive: the orchestrator's /monitoring/metrics (OpenTelemetry.Exporter.Prometheus.AspNetCore) with {ourSeries} series (the business meters of {hotels} hotels, filled by real calls); node_exporter: its /metrics with {theirSeries} series (default collectors). Each run: {WarmupScrapes} warm-up then {Scrapes} sequential scrapes of each, the median latency of a whole scrape (request to last byte) divided by its series count. Allocation: each process's own allocated-bytes counter read before and after {Scrapes} scrapes, less one read of that counter. A scrape also has a fixed cost (HTTP, collection) that weighs more per series on node_exporter's smaller exposition.");
        return
        [
            new Figure("2. Scrape cost", "median latency per series", "µs", Stats.Median(ourLatency), "node_exporter", Stats.Median(theirLatency),
                latencyRatios, "≤ 1.0", f => f.MedianRatio <= 1.0, notes),
            new Figure("2. Scrape cost", "bytes allocated per series per scrape", "B", Stats.Median(ourBytes), "node_exporter", Stats.Median(theirBytes),
                allocationRatios, "reported", null, "Same runs as the latency figure."),
        ];
    }

    /// <summary>Adds hotels and places calls on each (every outcome, every PMS operation) until the endpoint has enough series.</summary>
    private static async Task<int> FillAsync(ServiceSettings settings, Uri orchestrator, HttpClient http, Uri endpoint)
    {
        await using var data = settings.OpenDataSource();
        using var api = CallTraffic.CreateClient(orchestrator);
        var hotels = 0;
        while (CountSeries(await http.GetStringAsync(endpoint)) < TargetSeries)
        {
            if (hotels >= 2_000)
            {
                throw new InvalidOperationException("2,000 hotels did not make 10,000 series: the orchestrator's business metrics changed shape.");
            }

            const int batch = 25;
            await using (var insert = data.CreateCommand("""
                INSERT INTO hotels (id, name, time_zone)
                SELECT 'bench-' || lpad(i::text, 4, '0'), 'Benchmark Hotel ' || i, 'Europe/London' FROM generate_series(@from, @to) AS i
                ON CONFLICT (id) DO NOTHING
                """))
            {
                insert.Parameters.AddWithValue("from", hotels + 1);
                insert.Parameters.AddWithValue("to", hotels + batch);
                await insert.ExecuteNonQueryAsync();
            }

            var calls = Enumerable.Range(hotels + 1, batch)
                .SelectMany(i => Outcomes.Select(outcome => (Hotel: string.Create(CultureInfo.InvariantCulture, $"bench-{i:D4}"), Outcome: outcome)))
                .ToList();
            await Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (call, _) =>
                await CallTraffic.CallAsync(api, call.Hotel, new Random(call.GetHashCode()), call.Outcome));
            hotels += batch;
        }

        return hotels;
    }

    private static async Task<double> MedianLatencyAsync(HttpClient http, Uri endpoint)
    {
        var latencies = new List<double>(Scrapes);
        for (var i = 0; i < WarmupScrapes + Scrapes; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync(endpoint, HttpCompletionOption.ResponseContentRead);
            response.EnsureSuccessStatusCode();
            var elapsed = clock.Elapsed.TotalMicroseconds;
            if (i >= WarmupScrapes)
            {
                latencies.Add(elapsed);
            }
        }

        return Stats.Median(latencies);
    }

    /// <summary>Bytes the process allocated per scrape of <paramref name="endpoint"/>, from its own cumulative counter on <paramref name="counterEndpoint"/>.</summary>
    private static async Task<double> AllocatedPerScrapeAsync(HttpClient http, Uri endpoint, Uri counterEndpoint, string counter)
    {
        var before = await ReadCounterAsync(http, counterEndpoint, counter);
        for (var i = 0; i < Scrapes; i++)
        {
            using var response = await http.GetAsync(endpoint, HttpCompletionOption.ResponseContentRead);
            response.EnsureSuccessStatusCode();
        }

        var after = await ReadCounterAsync(http, counterEndpoint, counter);
        // A counter's value is taken before its own response is written, so the delta also holds the rest of
        // the first read: less the cost of one read, measured by the next.
        var oneRead = await ReadCounterAsync(http, counterEndpoint, counter) - after;
        return (after - before - oneRead) / Scrapes;
    }

    private static async Task<double> ReadCounterAsync(HttpClient http, Uri endpoint, string counter)
    {
        var text = await http.GetStringAsync(endpoint);
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(counter + " ", StringComparison.Ordinal) || l.StartsWith(counter + "{", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{endpoint} has no {counter}.");
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static int CountSeries(string exposition) =>
        exposition.Split('\n').Count(line => line.Length > 0 && line[0] != '#');
}
