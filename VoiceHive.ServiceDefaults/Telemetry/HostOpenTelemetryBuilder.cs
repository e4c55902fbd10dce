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
    private Lazy<Task>? _flush;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the providers is what starts listening to meters and activity sources.
        _meterProvider = services.GetService<MeterProvider>();
        _tracerProvider = services.GetService<TracerProvider>();
        _loggerProvider = services.GetService<LoggerProvider>();
        services.GetService<ProcessMetrics>();
        _flush = new Lazy<Task>(Flush, LazyThreadSafetyMode.ExecutionAndPublication);
        return Task.CompletedTask;
    }

    // A host can be stopped twice, from two threads (WebApplicationFactory stops it while Program's own
    // Run does): both callers wait for one flush, made with the references taken at start, never through
    // a container that is being disposed.
    public Task StopAsync(CancellationToken cancellationToken) => _flush?.Value ?? Task.CompletedTask;

    private Task Flush()
    {
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
