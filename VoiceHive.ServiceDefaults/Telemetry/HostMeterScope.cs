using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Keeps a host's MeterProvider to the meters of that host: process-wide meters (<c>new Meter</c>:
/// the runtime, Npgsql) and those created by this host's <see cref="IMeterFactory"/> (ASP.NET Core,
/// the service's own). Without it, a provider listens by name to every host's meters in the process,
/// so hosts side by side (tests, or several hosts in one process) would mix their series.
/// </summary>
internal sealed class HostMeterScope(IMeterFactory? factory)
{
    public MetricStreamConfiguration? Filter(Instrument instrument) =>
        (instrument.Meter.Scope is null || factory is null || ReferenceEquals(instrument.Meter.Scope, factory))
        && !PerBufferInstruments.Contains(instrument)
            ? PrometheusNames.Rename(instrument)
            : MetricStreamConfiguration.Drop;
}

/// <summary>
/// Instruments the libraries record per buffer rather than per request or command, which no alert rule, dashboard or
/// runbook reads: ASP.NET Core's memory pool (<c>aspnetcore.memory_pool.*</c>, a measurement for every block Kestrel
/// rents and returns) and Npgsql's bytes read and written (one per socket read and flush). A CPU profile of the
/// orchestrator at its telemetered capacity put 0.75 % of its CPU into recording them, a third of the samples under its
/// measurement callbacks (VoiceHive.Benchmarks/Profiling.md). Dropped by a view, they are never enabled, so recording them
/// costs nothing; the per-request and per-command instruments of the same meters stay.
/// </summary>
internal static class PerBufferInstruments
{
    public const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";
    public const string NpgsqlMeter = "Npgsql";

    public static readonly FrozenSet<string> NpgsqlInstruments =
        FrozenSet.Create(StringComparer.Ordinal, "db.client.operation.npgsql.bytes_read", "db.client.operation.npgsql.bytes_written");

    public static bool Contains(Instrument instrument) =>
        instrument.Meter.Name == MemoryPoolMeter
        || (instrument.Meter.Name == NpgsqlMeter && NpgsqlInstruments.Contains(instrument.Name));
}

/// <summary>
/// One rename keeps <c>promtool check metrics</c> clean: it rejects a gauge whose Prometheus name ends in
/// <c>_count</c>, <c>_sum</c> or <c>_bucket</c> (those suffixes belong to histograms), which the runtime and
/// Npgsql have (<c>dotnet.assembly.count</c>, <c>db.client.connection.count</c>). Such an instrument without a
/// unit suffix is exposed with <c>_current</c> (<c>dotnet_assembly_count_current</c>).
/// </summary>
internal static class PrometheusNames
{
    private static readonly string[] HistogramSuffixes = [".count", "_count", ".sum", "_sum", ".bucket", "_bucket"];

    public static MetricStreamConfiguration? Rename(Instrument instrument) =>
        IsGaugeLike(instrument) && string.IsNullOrEmpty(UnitSuffix(instrument.Unit))
        && HistogramSuffixes.Any(suffix => instrument.Name.EndsWith(suffix, StringComparison.Ordinal))
            ? new MetricStreamConfiguration { Name = instrument.Name + ".current" }
            : null;

    // Counters get _total and histograms their own series; anything else is exposed as a gauge.
    private static bool IsGaugeLike(Instrument instrument)
    {
        var type = instrument.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        return definition != typeof(Counter<>) && definition != typeof(ObservableCounter<>) && definition != typeof(Histogram<>);
    }

    // The exporter drops annotations ({connection}) and the dimensionless 1.
    private static string? UnitSuffix(string? unit) =>
        unit is null || unit.StartsWith('{') || unit == "1" ? null : unit;
}

internal static class HostMeterScopeExtensions
{
    public static MeterProviderBuilder AddHostMeterScope(this MeterProviderBuilder metrics) =>
        ((IDeferredMeterProviderBuilder)metrics).Configure((services, builder) =>
            builder.AddView(new HostMeterScope(services.GetService<IMeterFactory>()).Filter));
}
