using System.Globalization;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>An Alertmanager from the Debian package (prometheus-alertmanager), clustering off, on a free loopback port.</summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private ManagedProcess? _process;

    private AlertmanagerServer(string directory, int port)
    {
        Directory = directory;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public string Directory { get; }

    public int Port { get; }

    public HttpClient Http { get; }

    /// <summary>Starts Alertmanager; with <paramref name="webConfigYaml"/> (its <c>--web.config.file</c>) <see cref="Http"/> sends <paramref name="basicAuth"/>.</summary>
    public static async Task<AlertmanagerServer> StartAsync(string configurationYaml, IReadOnlyDictionary<string, string>? files = null,
        string? webConfigYaml = null, (string User, string Password)? basicAuth = null)
    {
        var server = new AlertmanagerServer(TestDirectories.Create("am"), TestDirectories.FreePort());
        List<string> webArguments = [];
        if (webConfigYaml is not null)
        {
            var webConfig = Path.Combine(server.Directory, "web.yml");
            await File.WriteAllTextAsync(webConfig, webConfigYaml);
            webArguments.Add($"--web.config.file={webConfig}");
        }

        if (basicAuth is { } credentials)
        {
            server.Http.DefaultRequestHeaders.Authorization = new("Basic",
                Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{credentials.User}:{credentials.Password}")));
        }

        foreach (var (name, content) in files ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(server.Directory, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, content);
        }

        var configuration = Path.Combine(server.Directory, "alertmanager.yml");
        await File.WriteAllTextAsync(configuration, configurationYaml);
        server._process = ManagedProcess.Start(Binaries.Require("prometheus-alertmanager", "prometheus-alertmanager"),
            [$"--config.file={configuration}", $"--storage.path={Path.Combine(server.Directory, "data")}",
             $"--web.listen-address=127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}", "--cluster.listen-address=", .. webArguments],
            Path.Combine(server.Directory, "alertmanager.log"));
        try
        {
            await Eventually.Until(async () => server._process.HasExited
                    ? throw new TimeoutException("exited")
                    : (await server.Http.GetAsync("-/ready")).IsSuccessStatusCode, "Alertmanager to be ready",
                TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException exception)
        {
            throw new InvalidOperationException($"Alertmanager did not start:\n{server._process.TailOfLog()}", exception);
        }

        return server;
    }

    public string TailOfLog() => _process?.TailOfLog() ?? "";

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        Http.Dispose();
        TestDirectories.TryDelete(Directory);
    }
}
