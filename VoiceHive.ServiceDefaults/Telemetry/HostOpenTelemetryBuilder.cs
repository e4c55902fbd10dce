using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Ties the OpenTelemetry SDK's providers to the host's lifetime: the SDK registers them as
/// singletons in the host's container (<c>WithTracing</c>/<c>WithMetrics</c>/<c>WithLogging</c>),
/// this builder creates them when the host starts and flushes them when it stops; the container
/// disposes them. Stand-in for OpenTelemetry.Extensions.Hosting's <c>AddOpenTelemetry()</c>,
/// which does not restore here and would replace this file.
/// </summary>
internal sealed class HostOpenTelemetryBuilder : IOpenTelemetryBuilder
{
    public HostOpenTelemetryBuilder(IServiceCollection services)
    {
        Services = services;
        if (!services.Any(d => d.ImplementationType == typeof(TelemetryProvidersLifetime)))
        {
            services.AddHostedService<TelemetryProvidersLifetime>();
        }
    }

    public IServiceCollection Services { get; }
}

internal sealed partial class TelemetryProvidersLifetime(IServiceProvider services, ILogger<TelemetryProvidersLifetime> logger)
    : IHostedService
{
    private const int FlushTimeoutMilliseconds = 5_000;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the providers is what starts listening to meters and activity sources.
        services.GetService<MeterProvider>();
        services.GetService<ProcessMetrics>();
        services.GetService<TracerProvider>();
        services.GetService<LoggerProvider>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var tracesFlushed = services.GetService<TracerProvider>()?.ForceFlush(FlushTimeoutMilliseconds) ?? true;
        var metricsFlushed = services.GetService<MeterProvider>()?.ForceFlush(FlushTimeoutMilliseconds) ?? true;
        if (!tracesFlushed || !metricsFlushed)
        {
            LogFlushIncomplete(logger, tracesFlushed, metricsFlushed);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Telemetry was not fully flushed at shutdown (traces flushed: {TracesFlushed}, metrics flushed: {MetricsFlushed})")]
    private static partial void LogFlushIncomplete(ILogger logger, bool tracesFlushed, bool metricsFlushed);
}
