using System.Globalization;

namespace VoiceHive.Benchmarks;

/// <summary>
/// A Release-built VoiceHive service in its own process (<c>dotnet VoiceHive.X.dll</c>), on a free loopback
/// port, with its own directory as content root and the given environment; ready when /health answers 200.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly ManagedProcess _process;

    private ServiceProcess(string name, ManagedProcess process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
    }

    public string Name { get; }

    public Uri Address { get; }

    public static Task<ServiceProcess> OrchestratorAsync(ServiceSettings settings) => StartAsync("orchestrator", "VoiceHive.Orchestrator", settings);

    public static Task<ServiceProcess> WorkerAsync(ServiceSettings settings) => StartAsync("worker", "VoiceHive.Worker", settings);

    private static async Task<ServiceProcess> StartAsync(string name, string project, ServiceSettings settings)
    {
        var dll = Repository.Path(project, "bin", "Release", "net10.0", project + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build in Release first (eng/bench.sh does).");
        }

        var port = TestDirectories.FreePort();
        var environment = new Dictionary<string, string>(settings.Environment)
        {
            ["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"),
            ["OTEL_SERVICE_NAME"] = name,
            // The content root a deployment gives it (a container's WORKDIR, dotnet run's project directory), so that the
            // service reads its own appsettings.json (log levels among them), not the runner's working directory's nothing.
            ["ASPNETCORE_CONTENTROOT"] = Path.GetDirectoryName(dll)!,
        };
        var log = Path.Combine(TestDirectories.Create(name), name + ".log");
        var process = ManagedProcess.Start(Binaries.Require("dotnet", "dotnet-sdk-10.0"), [dll], log, environment: environment);
        var address = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Eventually.Until(async () => process.HasExited
                    ? throw new TimeoutException("exited")
                    : (await http.GetAsync("health")).IsSuccessStatusCode,
                $"{name} to be healthy", TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException exception)
        {
            var tail = process.TailOfLog();
            await process.DisposeAsync();
            throw new InvalidOperationException($"{name} did not become healthy:\n{tail}", exception);
        }

        return new ServiceProcess(name, process, address);
    }

    /// <summary>Resident set size (VmRSS) of the process, in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id.ToString(CultureInfo.InvariantCulture)}/status")
            .First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>
    /// CPU time used so far by the runtime's tiered-compilation threads (named <c>.NET Tiered Com</c>), per thread, from
    /// /proc. Tier-1 (re)compilation in the background is warm-up, not the steady-state cost a benchmark compares; this
    /// tells when it is over. The runtime ends the thread when it is idle and starts another when methods are promoted
    /// again, so a snapshot is per thread, and <see cref="JitSnapshot.Since"/> compares two.
    /// </summary>
    public JitSnapshot TieredCompilation()
    {
        var ticks = new Dictionary<int, long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{_process.Id.ToString(CultureInfo.InvariantCulture)}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                // "tid (comm) state ppid …": the name may hold spaces, so fields are counted from its closing parenthesis;
                // utime and stime are the 14th and 15th fields, in clock ticks (USER_HZ, 100 a second on Linux).
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                if (!stat[(open + 1)..close].StartsWith(".NET Tiered Com", StringComparison.Ordinal))
                {
                    continue;
                }

                var fields = stat[(close + 2)..].Split(' ');
                ticks[int.Parse(stat[..open], CultureInfo.InvariantCulture)] =
                    long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // The thread ended between the listing and the read.
            }
        }

        return new JitSnapshot(ticks);
    }

    public string TailOfLog() => _process.TailOfLog();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>A benchmark's warm-up: long enough that the runtime's tiered compilation is over in the services measured.</summary>
public static class JitWarmup
{
    /// <summary>
    /// Runs <paramref name="pass"/> (given its number, from 1) until, during one pass, the tiered-compilation threads of every one of
    /// <paramref name="services"/> used at most <paramref name="quiet"/> of CPU, or <paramref name="maxPasses"/> passes
    /// have run; prints each pass's figures and returns how many passes ran.
    /// </summary>
    public static async Task<int> UntilCompiledAsync(
        IReadOnlyList<(string Label, ServiceProcess Service)> services, Func<int, Task> pass, TimeSpan quiet, int maxPasses)
    {
        for (var passes = 1; ; passes++)
        {
            var before = services.Select(s => s.Service.TieredCompilation()).ToArray();
            await pass(passes);
            var spent = services.Select((s, i) => s.Service.TieredCompilation().Since(before[i])).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up pass {passes}: tiered compilation ")
                + string.Join(", ", services.Select((s, i) => string.Create(CultureInfo.InvariantCulture, $"{spent[i].TotalMilliseconds:F0} ms ({s.Label})"))));
            if (spent.All(time => time <= quiet) || passes >= maxPasses)
            {
                return passes;
            }
        }
    }
}

/// <summary>CPU ticks of a process's tiered-compilation threads at one moment, by thread id.</summary>
public sealed record JitSnapshot(IReadOnlyDictionary<int, long> Ticks)
{
    private const double TicksPerSecond = 100;

    /// <summary>The CPU time those threads used since <paramref name="earlier"/> (a thread started since then counts whole).</summary>
    public TimeSpan Since(JitSnapshot earlier) =>
        TimeSpan.FromSeconds(Ticks.Sum(thread => thread.Value - earlier.Ticks.GetValueOrDefault(thread.Key)) / TicksPerSecond);
}
