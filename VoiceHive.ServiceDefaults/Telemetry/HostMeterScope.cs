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
        && !UnreadInstruments.Contains(instrument)
            ? PrometheusNames.Rename(instrument)
            : MetricStreamConfiguration.Drop;
}

/// <summary>
/// Instruments the libraries record for every buffer, or for every request a second time, which no alert rule,
/// dashboard or runbook reads. Dropped by a view, they are never enabled, so the libraries skip recording them; the
/// other instruments of the same meters stay. A CPU profile of the orchestrator at its telemetered capacity put up to
/// about 1.5 % of its CPU into these (VoiceHive.Benchmarks/Profiling.md):
/// <list type="bullet">
/// <item>per buffer: ASP.NET Core's memory pool (<c>aspnetcore.memory_pool.*</c>, every block Kestrel rents and
/// returns) and Npgsql's bytes read and written (every socket read and flush);</item>
/// <item>per request, what <c>http.server.request.duration</c> already tells by route and status code: the route
/// match (<c>aspnetcore.routing.match_attempts</c>), the bearer token's validation time and the authorization
/// result (401 and 403 are status codes; <c>aspnetcore.authentication.challenges</c> and <c>forbids</c>, one per
/// refusal, stay), and the rate limiter's lease duration and leases held (a lease lasts the request;
/// <c>aspnetcore.rate_limiting.requests</c>, every limited request by result, the 429s among them, stays, so the
/// limiter still builds its tags at each lease's end).</item>
/// </list>
/// </summary>
internal static class UnreadInstruments
{
    public const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    // By meter: the instruments dropped, or null for the whole meter.
    public static readonly FrozenDictionary<string, FrozenSet<string>?> ByMeter = new Dictionary<string, FrozenSet<string>?>
    {
        [MemoryPoolMeter] = null,
        ["Npgsql"] = Names("db.client.operation.npgsql.bytes_read", "db.client.operation.npgsql.bytes_written"),
        ["Microsoft.AspNetCore.Routing"] = Names("aspnetcore.routing.match_attempts"),
        ["Microsoft.AspNetCore.Authentication"] = Names("aspnetcore.authentication.authenticate.duration"),
        ["Microsoft.AspNetCore.Authorization"] = Names("aspnetcore.authorization.attempts"),
        ["Microsoft.AspNetCore.RateLimiting"] = Names("aspnetcore.rate_limiting.request_lease.duration", "aspnetcore.rate_limiting.active_request_leases"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static bool Contains(Instrument instrument) =>
        ByMeter.TryGetValue(instrument.Meter.Name, out var names) && (names is null || names.Contains(instrument.Name));

    private static FrozenSet<string> Names(params string[] names) => names.ToFrozenSet(StringComparer.Ordinal);
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
