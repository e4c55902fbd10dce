using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using VoiceHive.ServiceDefaults.Data;

namespace Microsoft.Extensions.Hosting;

public static class RedisClientExtensions
{
    public const string HealthCheckName = "redis";

    /// <summary>
    /// Registers a shared <see cref="IConnectionMultiplexer"/> for <c>ConnectionStrings:{connectionName}</c>
    /// and a readiness check that pings it. The multiplexer reconnects by itself, so a Redis that is down
    /// at start-up or goes away later makes the service unready, not dead. Stand-in for Aspire's
    /// <c>AddRedisClient</c> (Aspire.StackExchange.Redis), which does not restore here.
    /// </summary>
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        var options = ConfigurationOptions.Parse(builder.Configuration.GetRequiredConnectionString(connectionName));
        options.AbortOnConnectFail = false;
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        // A service with Redis can announce its scrape address (when Monitoring:AdvertisedHost is set).
        VoiceHive.ServiceDefaults.Telemetry.ScrapeTargetExtensions.AddScrapeTargetAnnouncer(builder.Services);
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            HealthCheckName,
            sp => new RedisHealthCheck(sp.GetRequiredService<IConnectionMultiplexer>()),
            HealthStatus.Unhealthy,
            ["ready"],
            TimeSpan.FromSeconds(5)));
        return builder;
    }

    private sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var latency = await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
                return HealthCheckResult.Healthy($"Redis answered PING in {latency.TotalMilliseconds:F1} ms");
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException or OperationCanceledException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "Redis does not answer PING");
            }
        }
    }
}
