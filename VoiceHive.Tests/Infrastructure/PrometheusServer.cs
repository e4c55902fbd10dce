using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// A Prometheus server from the Debian package with a configuration written by the test, on a free
/// loopback port, with a fresh TSDB. Query helpers use the HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly HttpClient _http;
    private ManagedProcess? _process;

    private PrometheusServer(string directory, int port)
    {
        Directory = directory;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public string Directory { get; }

    public int Port { get; }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Starts Prometheus with <paramref name="configurationYaml"/>; other files it names can be written first with <paramref name="files"/>.</summary>
    public static async Task<PrometheusServer> StartAsync(string configurationYaml, IReadOnlyDictionary<string, string>? files = null)
    {
        var server = new PrometheusServer(TestDirectories.Create("prom"), TestDirectories.FreePort());
        foreach (var (name, content) in files ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(server.Directory, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, content);
        }

        var configuration = Path.Combine(server.Directory, "prometheus.yml");
        await File.WriteAllTextAsync(configuration, configurationYaml);
        server._process = ManagedProcess.Start(Binaries.Require("prometheus", "prometheus"),
            [$"--config.file={configuration}", $"--storage.tsdb.path={Path.Combine(server.Directory, "data")}",
             $"--web.listen-address=127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}",
             "--web.enable-lifecycle", "--rules.alert.resend-delay=1s"],
            Path.Combine(server.Directory, "prometheus.log"));
        try
        {
            await Eventually.Until(async () => server._process.HasExited
                    ? throw new TimeoutException("exited")
                    : (await server._http.GetAsync("-/ready")).IsSuccessStatusCode, "Prometheus to be ready",
                TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException exception)
        {
            throw new InvalidOperationException($"Prometheus did not start:\n{server._process.TailOfLog()}", exception);
        }

        return server;
    }

    /// <summary>An instant query; returns the result vector (empty when nothing matches).</summary>
    public async Task<IReadOnlyList<PrometheusSample>> QueryAsync(string promql, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}", cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        if (body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Query '{promql}' failed: {body}");
        }

        var data = body.GetProperty("data");
        if (data.GetProperty("resultType").GetString() != "vector")
        {
            throw new InvalidOperationException($"Query '{promql}' did not return a vector: {data}");
        }

        return data.GetProperty("result").EnumerateArray()
            .Select(item => new PrometheusSample(
                item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""),
                double.Parse(item.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToList();
    }

    public string TailOfLog() => _process?.TailOfLog() ?? "";

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _http.Dispose();
        TestDirectories.TryDelete(Directory);
    }
}

public sealed record PrometheusSample(IReadOnlyDictionary<string, string> Labels, double Value);
