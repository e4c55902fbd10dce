using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Keeps a host's MeterProvider to the meters of that host: process-wide meters (<c>new Meter</c>:
/// the runtime, Npgsql) and those created by this host's <see cref="IMeterFactory"/> (ASP.NET Core,
/// the service's own). Without it, a provider listens by name to every host's meters in the process,
/// so hosts side by side (tests, or several hosts in one process) would mix their series, and one
/// host's disposal would end another's streams.
/// </summary>
internal sealed class HostMeterScope
{
    private IMeterFactory? _factory;

    /// <summary>Learns the host's factory when the provider builds its reader, before any instrument is seen.</summary>
    public MetricReader Bind(IServiceProvider services, MetricReader reader)
    {
        _factory = (IMeterFactory?)services.GetService(typeof(IMeterFactory));
        return reader;
    }

    public MetricStreamConfiguration? Filter(Instrument instrument) =>
        instrument.Meter.Scope is null || _factory is null || ReferenceEquals(instrument.Meter.Scope, _factory)
            ? null
            : MetricStreamConfiguration.Drop;
}
