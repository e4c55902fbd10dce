using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// The business meters (<c>voicehive.*</c>) in a MeterProvider of their own, so that <c>/monitoring/metrics</c>
/// serves them and <c>/metrics</c> (the host's provider) never does: the VoiceHive guide's two scrape jobs
/// never collect a series twice. It exports to the same OTLP destination as the host's provider, unless
/// <c>OTEL_METRICS_EXPORTER=none</c>.
/// </summary>
public sealed class BusinessMeterProvider : IDisposable
{
    public BusinessMeterProvider(IServiceProvider services, TelemetrySettings settings, IHostEnvironment environment, ProcessMetrics processMetrics)
    {
        // Nothing else asks for ProcessMetrics, whose constructor creates voicehive.memory.usage: depending on it here
        // makes the gauge exist wherever the business meters are collected.
        ArgumentNullException.ThrowIfNull(processMetrics);
        var builder = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => settings.Describe(resource, environment))
            .AddMeter(Microsoft.Extensions.Hosting.Extensions.ServiceTelemetryPattern)
            .AddView(new HostMeterScope(services.GetService<IMeterFactory>()).Filter)
            .AddPrometheusExporter(PrometheusScrapeOptions.Configure);
        if (settings.Otlp is { } otlp && settings.OtlpSignals.HasFlag(OtlpSignals.Metrics))
        {
            builder.AddOtlpExporter((exporter, _) => otlp.Configure(exporter, "metrics"));
        }

        Provider = builder.Build();
    }

    public MeterProvider Provider { get; }

    public void Dispose() => Provider.Dispose();
}
