using System.Globalization;
using VoiceHive.Benchmarks;

// The benchmark runner (eng/bench.sh builds in Release and starts it). Each figure is the median of
// --runs runs, each run a ratio against a baseline measured in the same run, on this machine, now.
//
//   eng/bench.sh [--runs 5] [--only telemetry,scrape,ingest,pipeline,memory,alerts] [--memory-minutes 10]
//                [--env KEY=VALUE]... [--update] [--output docs/benchmarks.md]
var options = BenchmarkOptions.Parse(args);
Console.WriteLine($"VoiceHive benchmarks: {options.Runs} runs each; {string.Join(", ", options.Benchmarks)}");

await using var environment = await BenchmarkEnvironment.StartAsync(options.ServiceEnvironment);
var report = new Report(options);
double? capacity = null;
foreach (var name in options.Benchmarks)
{
    Console.WriteLine();
    Console.WriteLine($"== {name} ==");
    try
    {
        switch (name)
        {
            case "telemetry":
                var telemetry = await TelemetryOverhead.RunAsync(environment, options);
                capacity = telemetry.MedianValue;
                report.Add(telemetry);
                break;
            case "scrape":
                foreach (var figure in await ScrapeCost.RunAsync(environment, options))
                {
                    report.Add(figure);
                }

                break;
            case "ingest":
                report.Add(await WebhookIngest.RunAsync(environment, options));
                break;
            case "pipeline":
                report.Add(await EventPipeline.RunAsync(environment, options));
                break;
            case "memory":
                foreach (var figure in await MemoryGrowth.RunAsync(environment, options, capacity))
                {
                    report.Add(figure);
                }

                break;
            case "alerts":
                report.Add(await AlertLatency.RunAsync(environment, options));
                break;
            default:
                throw new InvalidOperationException($"Unknown benchmark '{name}'.");
        }
    }
    catch (Exception exception) when (exception is InvalidOperationException or TimeoutException or HttpRequestException or IOException
        or TaskCanceledException or Npgsql.NpgsqlException or StackExchange.Redis.RedisException or System.Text.Json.JsonException)
    {
        // One broken benchmark does not lose the others' figures: it is reported as not measured.
        Console.Error.WriteLine($"{name} failed: {exception}");
        report.Fail(name, exception.Message);
    }

    await report.WriteAsync();
    await environment.SettleAsync();
}

Console.WriteLine();
Console.WriteLine(await File.ReadAllTextAsync(options.Output));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"written to {options.Output}"));
return report.AllMeasured ? 0 : 1;
