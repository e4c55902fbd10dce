using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace VoiceHive.Benchmarks;

/// <summary>Command-line options of the runner.</summary>
public sealed record BenchmarkOptions(int Runs, IReadOnlyList<string> Benchmarks, TimeSpan MemoryDuration, string Output, string CommandLine,
    IReadOnlyDictionary<string, string> ServiceEnvironment, bool Update, double? MemoryRate = null, bool IngestHttpFloor = false)
{
    public static readonly string[] All = ["telemetry", "scrape", "ingest", "pipeline", "alerts", "memory"];

    public static BenchmarkOptions Parse(string[] args)
    {
        var runs = 5;
        IReadOnlyList<string> benchmarks = All;
        var memoryMinutes = 10.0;
        var output = Repository.Path("docs", "benchmarks.md");
        var environment = new Dictionary<string, string>();
        var update = false;
        double? memoryRate = null;
        var ingestHttpFloor = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--update")
            {
                update = true;
                continue;
            }

            if (args[i] == "--ingest-http-floor")
            {
                // For profiling the webhook ingest: also compare it with the floor behind a bare HTTP endpoint.
                ingestHttpFloor = true;
                continue;
            }

            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--runs":
                    runs = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--only":
                    benchmarks = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--memory-minutes":
                    memoryMinutes = double.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--env":
                    var (key, setting) = value.Split('=', 2) is [var k, var v] ? (k, v) : throw new ArgumentException("--env takes KEY=VALUE");
                    environment[key] = setting;
                    break;
                case "--memory-rate":
                    // For profiling the memory benchmark alone: its load in calls/s instead of half the measured capacity.
                    memoryRate = double.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--output":
                    output = Path.GetFullPath(value);
                    break;
                default:
                    throw new ArgumentException($"Unknown option {args[i]} (--runs, --only, --memory-minutes, --memory-rate, --ingest-http-floor, --env, --update, --output)");
            }

            i++;
        }

        if (runs < 1 || benchmarks.Except(All).FirstOrDefault() is { } unknown)
        {
            throw new ArgumentException($"--runs must be at least 1 and --only a list of {string.Join(", ", All)}");
        }

        // The memory benchmark needs the call capacity the telemetry benchmark measures.
        var ordered = All.Where(benchmarks.Contains).ToList();
        if (ordered.Contains("memory") && !ordered.Contains("telemetry") && memoryRate is null)
        {
            ordered.Insert(0, "telemetry");
        }

        return new BenchmarkOptions(runs, ordered, TimeSpan.FromMinutes(memoryMinutes), output, "eng/bench.sh " + string.Join(' ', args), environment, update, memoryRate, ingestHttpFloor);
    }
}

/// <summary>
/// One line of the table: VoiceHive's figure against its baseline, both medians over the runs, and the
/// median of the per-run ratios (each run's ratio uses a baseline measured in that run).
/// </summary>
public sealed record Figure(
    string Benchmark,
    string Measure,
    string Unit,
    double MedianValue,
    string Baseline,
    double MedianBaseline,
    IReadOnlyList<double> Ratios,
    string Target,
    Func<Figure, bool>? Meets,
    string Notes)
{
    public double MedianRatio => Stats.Median(Ratios);

    /// <summary>Whether the target is met; null for a figure reported without a target.</summary>
    public bool? Met => Meets?.Invoke(this);
}

public static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static string Format(double value) => value switch
    {
        double.NaN => "–",
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("F0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("F1", CultureInfo.InvariantCulture),
        _ => value.ToString("G3", CultureInfo.InvariantCulture),
    };
}

/// <summary>docs/benchmarks.md: the machine, the date, the table, and each benchmark's runs and notes.</summary>
public sealed class Report(BenchmarkOptions options)
{
    private readonly List<Figure> _figures = [];
    private readonly List<(string Benchmark, string Reason)> _failures = [];
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly Previous? _previous = options.Update && File.Exists(options.Output) ? Previous.Read(options.Output, options.Benchmarks) : null;

    public bool AllMeasured => _failures.Count == 0;

    public void Add(Figure figure)
    {
        _figures.Add(figure);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{figure.Benchmark} / {figure.Measure}: {Stats.Format(figure.MedianValue)} {figure.Unit} vs {Stats.Format(figure.MedianBaseline)} → ratio {figure.MedianRatio:F3} (runs: {string.Join(", ", figure.Ratios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))}); target {figure.Target}: {figure.Met switch { true => "met", false => "MISSED", null => "reported" }}"));
    }

    public void Fail(string benchmark, string reason) => _failures.Add((benchmark, reason));

    public async Task WriteAsync()
    {
        var text = new StringBuilder();
        var line = (string value) => text.Append(value).Append('\n');
        line("# Benchmarks");
        line("");
        line("Written by `eng/bench.sh` (the VoiceHive.Benchmarks runner); do not edit by hand. Every figure is the median of");
        line(_previous is null
            ? $"{options.Runs} runs, and every ratio compares VoiceHive with a baseline measured in the same run on the same"
            : $"its runs ({options.Runs} for the rows re-measured; each row's runs are listed below), and every ratio compares\nVoiceHive with a baseline measured in the same run on the same");
        line("machine, because absolute numbers on a shared machine mean little. Benchmarks are not tests: the test command");
        line("asserts no time.");
        line("");
        if (_previous is not null)
        {
            foreach (var dated in _previous.DateLines)
            {
                line(dated);
            }

            line(string.Create(CultureInfo.InvariantCulture,
                $"- Updated: {_started:yyyy-MM-dd HH:mm} UTC; command: `{options.CommandLine.Trim()}` (re-measured: {string.Join(", ", options.Benchmarks)}; the other rows are from the lines above)"));
        }
        else
        {
            line(string.Create(CultureInfo.InvariantCulture, $"- Date: {_started:yyyy-MM-dd HH:mm} UTC; command: `{options.CommandLine.Trim()}`"));
        }

        line($"- Machine: {Machine()}");
        line($"- .NET {Environment.Version}, Release build; PostgreSQL, Redis, Prometheus, Alertmanager and node_exporter from the Debian packages, on loopback");
        line("- Each benchmark has its own database and stream on the shared servers, dropped before the next starts, then a CHECKPOINT");
        line("");
        line("| Benchmark | Measure | VoiceHive | Baseline | Ratio | Target | Met |");
        line("|---|---|---|---|---|---|---|");
        var rows = _figures.Select(figure => (figure.Benchmark, Text: string.Create(CultureInfo.InvariantCulture,
                $"| {figure.Benchmark} | {figure.Measure} | {Stats.Format(figure.MedianValue)} {figure.Unit} | {figure.Baseline}: {Stats.Format(figure.MedianBaseline)} {figure.Unit} | {figure.MedianRatio:F3} | {figure.Target} | {figure.Met switch { true => "yes", false => "**no**", null => "–" }} |")))
            .Concat(_previous?.Rows ?? []);
        foreach (var row in rows.OrderBy(r => r.Benchmark, StringComparer.Ordinal))
        {
            line(row.Text);
        }

        foreach (var (benchmark, reason) in _failures)
        {
            line($"| {benchmark} | not measured: {reason.ReplaceLineEndings(" ")} | | | | | **no** |");
        }

        line("");
        line("## Runs and notes");
        var notes = _figures.Select(figure => (figure.Benchmark, Text: $"**{figure.Benchmark}: {figure.Measure}.** Ratios per run: " +
                string.Join(", ", figure.Ratios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture))) + ". " + figure.Notes))
            .Concat(_previous?.Notes ?? []);
        foreach (var note in notes.OrderBy(n => n.Benchmark, StringComparer.Ordinal))
        {
            line("");
            line(note.Text);
        }

        // What was profiled and changed when a target was missed, with before/after figures: written by hand, kept
        // beside the runner, and carried into every report.
        var profiling = Repository.Path("VoiceHive.Benchmarks", "Profiling.md");
        if (File.Exists(profiling))
        {
            line("");
            text.Append(await File.ReadAllTextAsync(profiling));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(options.Output)!);
        await File.WriteAllTextAsync(options.Output, text.ToString());
    }

    private static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memoryGiB = memory is not null && long.TryParse(memory.Split(' ')[0], CultureInfo.InvariantCulture, out var kb)
            ? string.Create(CultureInfo.InvariantCulture, $"{kb / 1024.0 / 1024.0:F0} GiB")
            : "unknown memory";
        return $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores ({cpu ?? "unknown CPU"}), {memoryGiB}, shared with other work";
    }
}

/// <summary>
/// With --update, what an earlier report measured for the benchmarks not run now: its date line, and its table rows
/// and notes (a benchmark's are those starting with its number, "1." to "6.").
/// </summary>
internal sealed record Previous(IReadOnlyList<string> DateLines, IReadOnlyList<(string Benchmark, string Text)> Rows, IReadOnlyList<(string Benchmark, string Text)> Notes)
{
    private static readonly string[] Numbers = ["telemetry:1.", "scrape:2.", "ingest:3.", "pipeline:4.", "memory:5.", "alerts:6."];

    public static Previous Read(string path, IReadOnlyList<string> rerun)
    {
        var replaced = Numbers.Select(n => n.Split(':')).Where(n => rerun.Contains(n[0])).Select(n => n[1]).ToList();
        var lines = File.ReadAllLines(path);
        // The first measurement's date and every update since, so each carried row can be traced to its run.
        var dateLines = lines.Where(l => l.StartsWith("- Date:", StringComparison.Ordinal) || l.StartsWith("- Updated:", StringComparison.Ordinal)).ToList();
        var rows = new List<(string, string)>();
        var notes = new List<(string, string)>();
        foreach (var text in lines)
        {
            if (text.StartsWith("| ", StringComparison.Ordinal) && text.Length > 4 && char.IsAsciiDigit(text[2]))
            {
                var benchmark = text[2..text.IndexOf(" |", 2, StringComparison.Ordinal)];
                if (!replaced.Any(n => benchmark.StartsWith(n, StringComparison.Ordinal)))
                {
                    rows.Add((benchmark, text));
                }
            }
            else if (text.StartsWith("**", StringComparison.Ordinal) && text.Length > 3 && char.IsAsciiDigit(text[2]) && text.Contains(".** Ratios per run", StringComparison.Ordinal))
            {
                var benchmark = text[2..text.IndexOf(':', StringComparison.Ordinal)];
                if (!replaced.Any(n => benchmark.StartsWith(n, StringComparison.Ordinal)))
                {
                    notes.Add((benchmark, text));
                }
            }
        }

        return new Previous(dateLines, rows, notes);
    }
}
