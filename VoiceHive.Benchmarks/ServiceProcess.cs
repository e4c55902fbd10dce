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

    public string TailOfLog() => _process.TailOfLog();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
