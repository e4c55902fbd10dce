using System.Globalization;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>A Prometheus exporter from its Debian package, on a free loopback port, ready when its /metrics answers.</summary>
public sealed class ExporterProcess : IAsyncDisposable
{
    private readonly ManagedProcess _process;

    private ExporterProcess(ManagedProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Target => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static Task<ExporterProcess> RedisAsync(RedisServer redis) => StartAsync("prometheus-redis-exporter", "prometheus-redis-exporter",
        port => ["-redis.addr", $"redis://127.0.0.1:{redis.Port.ToString(CultureInfo.InvariantCulture)}", "-web.listen-address", $"127.0.0.1:{port}"], null);

    public static Task<ExporterProcess> PostgresAsync(PostgresServer postgres) => StartAsync("prometheus-postgres-exporter", "prometheus-postgres-exporter",
        port => [$"--web.listen-address=127.0.0.1:{port}"],
        new Dictionary<string, string>
        {
            ["DATA_SOURCE_NAME"] = $"postgresql://postgres@127.0.0.1:{postgres.Port.ToString(CultureInfo.InvariantCulture)}/postgres?sslmode=disable",
        });

    /// <summary>The host's node exporter with its default collectors (also the Go reference client for the scrape-cost benchmark).</summary>
    public static Task<ExporterProcess> NodeAsync() => StartAsync("prometheus-node-exporter", "prometheus-node-exporter",
        port => [$"--web.listen-address=127.0.0.1:{port}"], null);

    private static async Task<ExporterProcess> StartAsync(string binary, string package, Func<int, string[]> arguments,
        IReadOnlyDictionary<string, string>? environment)
    {
        var port = TestDirectories.FreePort();
        var directory = TestDirectories.Create("exporter");
        var process = ManagedProcess.Start(Binaries.Require(binary, package), arguments(port), Path.Combine(directory, binary + ".log"), environment: environment);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        try
        {
            await Eventually.Until(async () => process.HasExited ? throw new TimeoutException("exited") : (await http.GetAsync("metrics")).IsSuccessStatusCode,
                $"{binary} to serve /metrics", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException exception)
        {
            throw new InvalidOperationException($"{binary} did not start:\n{process.TailOfLog()}", exception);
        }

        return new ExporterProcess(process, port);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
