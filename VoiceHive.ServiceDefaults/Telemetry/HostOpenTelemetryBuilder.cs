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
    private TracerProvider? _tracerProvider;
    private MeterProvider? _meterProvider;
    private LoggerProvider? _loggerProvider;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the providers is what starts listening to meters and activity sources.
        _meterProvider = services.GetService<MeterProvider>();
        _tracerProvider = services.GetService<TracerProvider>();
        _loggerProvider = services.GetService<LoggerProvider>();
        services.GetService<ProcessMetrics>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // A host can be stopped twice (WebApplicationFactory stops it after Program's own Run has):
        // flush once, with the references taken at start, never through a disposed container.
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return Task.CompletedTask;
        }

        var tracesFlushed = _tracerProvider?.ForceFlush(FlushTimeoutMilliseconds) ?? true;
        var metricsFlushed = _meterProvider?.ForceFlush(FlushTimeoutMilliseconds) ?? true;
        var logsFlushed = _loggerProvider?.ForceFlush(FlushTimeoutMilliseconds) ?? true;
        if (!tracesFlushed || !metricsFlushed || !logsFlushed)
        {
            LogFlushIncomplete(logger, tracesFlushed, metricsFlushed, logsFlushed);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Telemetry was not fully flushed at shutdown (traces: {TracesFlushed}, metrics: {MetricsFlushed}, logs: {LogsFlushed})")]
    private static partial void LogFlushIncomplete(ILogger logger, bool tracesFlushed, bool metricsFlushed, bool logsFlushed);
}
