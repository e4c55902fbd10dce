extern alias orchestrator;
extern alias traffic;
extern alias worker;

using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>Either service's factory, for tests that run against both.</summary>
public interface IServiceApplication : IAsyncDisposable
{
    IServiceProvider Services { get; }

    Uri Address { get; }

    HttpClient CreateClient();

    void UseRealPort();
}

/// <summary>
/// A VoiceHive service in the test process, pointed at real servers through the same settings the
/// AppHost injects (<c>ConnectionStrings:*</c>, <c>OTEL_*</c>, …). With <see cref="UseRealPort"/> it
/// listens on a loopback port so that another process (Prometheus) can reach it. Disposing it returns
/// once the service's host is disposed, its telemetry flushed and its listeners gone.
/// </summary>
public abstract class ServiceApplication<TProgram> : WebApplicationFactory<TProgram>, IServiceApplication
    where TProgram : class
{
    /// <summary>Far more than a host takes to stop; a host that takes longer is a fault of its own.</summary>
    private static readonly TimeSpan DisposalLimit = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, string?> _settings;
    private readonly ConcurrentQueue<ContainerDisposal> _startedHosts = new();
    private bool _realPort;

    protected ServiceApplication(IReadOnlyDictionary<string, string?> settings)
    {
        _settings = new Dictionary<string, string?>(TestTokens.Settings.Concat(settings).GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Last().Value))
        {
            // Keep test runs quick to fail when a dependency is absent at start-up.
            ["Database:MigrationTimeout"] = settings.GetValueOrDefault("Database:MigrationTimeout") ?? "00:00:20",
            // The test output is for the tests; services say only what goes wrong.
            ["Logging:LogLevel:Default"] = settings.GetValueOrDefault("Logging:LogLevel:Default") ?? "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            // Each host would watch appsettings*.json and, once a developer has run `dotnet user-jwts`, the user-secrets
            // file: an inotify instance apiece, and a run of hosts reaches Linux's default of 128 per user.
            ["hostBuilder:reloadConfigOnChange"] = "false",
        };
    }

    /// <summary>Serve on a real loopback port (call before the first request).</summary>
    public void UseRealPort()
    {
        _realPort = true;
        UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
    }

    /// <summary>The loopback address the service listens on (with <see cref="UseRealPort"/>).</summary>
    public Uri Address
    {
        get
        {
            if (!_realPort)
            {
                throw new InvalidOperationException("Call UseRealPort() first.");
            }

            StartServer();
            var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            return new Uri(addresses.First());
        }
    }

    /// <summary>Clients carry a token with both scopes; authentication tests make their own requests without one or with another.</summary>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestTokens.Create(TestTokens.AllScopes));
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // UseSetting reaches WebApplication.CreateBuilder's configuration before Program reads it.
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseEnvironment(_settings.GetValueOrDefault("ASPNETCORE_ENVIRONMENT") ?? "Development");
    }

    /// <summary>Also called for the factories <see cref="WebApplicationFactory{TEntryPoint}.WithWebHostBuilder"/> derives from this one.</summary>
    protected override IHost CreateHost(IHostBuilder builder)
    {
        var disposal = new ContainerDisposal();
        builder.ConfigureAppConfiguration(configuration => configuration.Add(disposal));
        var host = base.CreateHost(builder);
        _startedHosts.Enqueue(disposal);
        return host;
    }

    /// <summary>
    /// Waits for the host's service container to be disposed, not only for the factory's part. For a minimal-hosting app the
    /// factory stops and disposes the host while the app's own <c>app.Run()</c> does the same on its entry-point thread
    /// (dotnet/aspnetcore#40271); whichever reaches the container second returns at once. Without the wait, a test could read
    /// what a fake collector received before the OpenTelemetry providers flushed, and the next test's host would run beside
    /// this one's ActivityListener and DiagnosticListener subscriptions.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        while (_startedHosts.TryDequeue(out var disposal))
        {
            await disposal.Completion.WaitAsync(DisposalLimit);
        }
    }

    /// <summary>
    /// Completes when the container that owns the app's configuration has disposed it. The host resolves
    /// <see cref="IConfiguration"/> before any other service, so the container disposes it last, and the configuration
    /// disposes its providers, this source's among them.
    /// </summary>
    private sealed class ContainerDisposal : IConfigurationSource
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Provider? _current;

        public Task Completion => _disposed.Task;

        public IConfigurationProvider Build(IConfigurationBuilder builder) => _current = new Provider(this);

        private sealed class Provider(ContainerDisposal source) : ConfigurationProvider, IDisposable
        {
            // The configuration rebuilds its providers when its sources change and disposes the old ones: only the current one counts.
            public void Dispose()
            {
                if (ReferenceEquals(source._current, this))
                {
                    source._disposed.TrySetResult();
                }
            }
        }
    }
}

public sealed class OrchestratorApplication(IReadOnlyDictionary<string, string?> settings)
    : ServiceApplication<orchestrator::Program>(settings)
{
    public static OrchestratorApplication For(string databaseConnectionString, string redisConnectionString,
        IReadOnlyDictionary<string, string?>? extra = null) =>
        new(Settings(databaseConnectionString, redisConnectionString, extra));

    internal static Dictionary<string, string?> Settings(string databaseConnectionString, string redisConnectionString,
        IReadOnlyDictionary<string, string?>? extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:voicehivedb"] = databaseConnectionString,
            ["ConnectionStrings:redis"] = redisConnectionString,
            ["Events:Stream"] = EventStreams.Of(databaseConnectionString),
            // Quick enough for tests to see events handled and stuck ones reclaimed.
            ["Consumer:IdleDelay"] = "00:00:00.050",
            ["Outbox:PollInterval"] = "00:00:00.050",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }
}

public sealed class WorkerApplication(IReadOnlyDictionary<string, string?> settings)
    : ServiceApplication<worker::Program>(settings)
{
    public static WorkerApplication For(string databaseConnectionString, string redisConnectionString,
        IReadOnlyDictionary<string, string?>? extra = null) =>
        new(OrchestratorApplication.Settings(databaseConnectionString, redisConnectionString, extra));
}

public sealed class TrafficApplication(IReadOnlyDictionary<string, string?> settings)
    : ServiceApplication<traffic::Program>(settings)
{
    /// <summary>The traffic generator against <paramref name="orchestrator"/>, switched off unless <paramref name="running"/>.</summary>
    public static TrafficApplication For(Uri orchestrator, bool running = false, double callsPerSecond = 1) => new(new Dictionary<string, string?>
    {
        ["Traffic:Orchestrator"] = orchestrator.ToString(),
        ["Traffic:Token"] = TestTokens.Create("calls"),
        ["Traffic:Running"] = running ? "true" : "false",
        ["Traffic:CallsPerSecond"] = callsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });
}
