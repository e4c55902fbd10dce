using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Lets Prometheus find every replica wherever it runs: each replica announces the address it can be
/// scraped at (<c>Monitoring:AdvertisedHost</c> and the port it listens on) in Redis every few seconds, and
/// <see cref="ScrapeTargetRegistry"/> lists the live ones, which the orchestrator serves in Prometheus's HTTP
/// service-discovery format. Off unless <c>Monitoring:AdvertisedHost</c> is set (e.g. host.docker.internal
/// for containers reaching host processes, or the pod IP).
/// </summary>
public sealed partial class ScrapeTargetAnnouncer(
    Microsoft.AspNetCore.Hosting.Server.IServer server,
    IConnectionMultiplexer redis,
    IConfiguration configuration,
    IHostEnvironment environment,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<ScrapeTargetAnnouncer> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly string? _host = configuration["Monitoring:AdvertisedHost"] is { } host && !string.IsNullOrWhiteSpace(host) ? host.Trim() : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_host is null)
        {
            return;
        }

        // The first pass once the server listens, so that a replica is listed as soon as it can be scraped.
        await Task.Delay(Timeout.InfiniteTimeSpan, lifetime.ApplicationStarted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await AnnounceAsync();
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                LogAnnounceFailed(logger, exception.GetType().Name);
            }

            await Task.Delay(Interval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One pass: announces every HTTP port this replica listens on, at <c>Monitoring:AdvertisedHost</c>; nothing without one. Returns how many addresses.</summary>
    public async Task<int> AnnounceAsync()
    {
        if (_host is null)
        {
            return 0;
        }

        var service = ScrapeTargetRegistry.ServiceName(configuration, environment);
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var ports = addresses.Select(a => Uri.TryCreate(a.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp ? uri.Port : 0)
            .Where(port => port > 0).Distinct().ToList();
        var now = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var database = redis.GetDatabase();
        foreach (var port in ports)
        {
            await database.SortedSetAddAsync(ScrapeTargetRegistry.Key(service), $"{_host}:{port.ToString(CultureInfo.InvariantCulture)}", now);
        }

        await database.SortedSetRemoveRangeByScoreAsync(ScrapeTargetRegistry.Key(service), double.NegativeInfinity, now - ScrapeTargetRegistry.Lifetime.TotalSeconds);
        return ports.Count;
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Could not announce this replica's scrape address ({ExceptionType}); retrying")]
    private static partial void LogAnnounceFailed(ILogger logger, string exceptionType);
}

/// <summary>The live scrape addresses the replicas announced, per service.</summary>
public sealed class ScrapeTargetRegistry(IConnectionMultiplexer redis, TimeProvider timeProvider)
{
    /// <summary>An address not announced for this long is gone (a replica stopped or died).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    public static string Key(string service) => "voicehive:scrape-targets:" + service;

    public static string ServiceName(IConfiguration configuration, IHostEnvironment environment) =>
        configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : environment.ApplicationName;

    public async Task<IReadOnlyList<string>> LiveAsync(string service)
    {
        var oldest = timeProvider.GetUtcNow().ToUnixTimeSeconds() - Lifetime.TotalSeconds;
        var members = await redis.GetDatabase().SortedSetRangeByScoreAsync(Key(service), oldest, double.PositiveInfinity);
        return members.Select(m => (string)m!).Order(StringComparer.Ordinal).ToList();
    }
}

public static class ScrapeTargetExtensions
{
    /// <summary>Announces this replica's scrape address when <c>Monitoring:AdvertisedHost</c> is set (needs a Redis client).</summary>
    public static IServiceCollection AddScrapeTargetAnnouncer(this IServiceCollection services)
    {
        services.AddSingleton<ScrapeTargetRegistry>();
        services.AddHostedService<ScrapeTargetAnnouncer>();
        return services;
    }
}
