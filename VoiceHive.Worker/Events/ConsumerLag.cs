using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using StackExchange.Redis;
using VoiceHive.Worker.Infrastructure;

namespace VoiceHive.Worker.Events;

/// <summary>Samples the consumer group's lag and pending count for the metrics and the health check.</summary>
public sealed class ConsumerLagSampler(EventStream stream, WorkerMetrics metrics, TimeProvider timeProvider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A sample is not worth a span.
                using var untraced = SuppressInstrumentationScope.Begin();
                var (lag, pending) = await stream.GroupStateAsync();
                metrics.GroupState(lag, pending);
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException or InvalidCastException or KeyNotFoundException)
            {
                // The stream or group may not exist yet, or Redis is away; the Redis check reports the latter.
            }

            await Task.Delay(TimeSpan.FromSeconds(2), timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}

/// <summary>
/// Degraded when the consumer waits for a dependency, when the group lags behind the stream by more than the
/// threshold, or when the consumer has stopped polling.
/// </summary>
public sealed class ConsumerHealthCheck(EventConsumer consumer, WorkerMetrics metrics, IOptions<ConsumerOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public const string Name = "event-consumer";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (consumer.Waiting is { } wait)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"waiting for {wait.Dependency} since {wait.Since:u}: no new events taken; {wait.Held} events held, " +
                "retried when it answers and not counted as failed deliveries"));
        }

        var sincePoll = timeProvider.GetUtcNow() - consumer.LastPoll;
        var lag = metrics.Lag;
        var description = $"lag {lag} events (threshold {options.Value.LagDegradedThreshold}), last poll {sincePoll.TotalSeconds:F0} s ago";
        return Task.FromResult(sincePoll > TimeSpan.FromSeconds(30) || lag > options.Value.LagDegradedThreshold
            ? HealthCheckResult.Degraded(description)
            : HealthCheckResult.Healthy(description));
    }
}
