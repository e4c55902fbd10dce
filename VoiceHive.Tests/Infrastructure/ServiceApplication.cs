extern alias orchestrator;
extern alias worker;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// A VoiceHive service in the test process, pointed at real servers through the same settings the
/// AppHost injects (<c>ConnectionStrings:*</c>, <c>OTEL_*</c>, …). With <see cref="UseRealPort"/> it
/// listens on a loopback port so that another process (Prometheus) can reach it.
/// </summary>
/// <summary>Either service's factory, for tests that run against both.</summary>
public interface IServiceApplication : IAsyncDisposable
{
    IServiceProvider Services { get; }

    Uri Address { get; }

    HttpClient CreateClient();

    void UseRealPort();
}

public abstract class ServiceApplication<TProgram> : WebApplicationFactory<TProgram>, IServiceApplication
    where TProgram : class
{
    private readonly Dictionary<string, string?> _settings;
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
