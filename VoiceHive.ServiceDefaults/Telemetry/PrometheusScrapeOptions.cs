using OpenTelemetry.Exporter;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>How both scrape endpoints expose their meters.</summary>
internal static class PrometheusScrapeOptions
{
    public static void Configure(PrometheusAspNetCoreOptions options)
    {
        // Every scrape sees the values of that moment: Prometheus scrapes each endpoint on its own schedule,
        // and a cached answer would hide what happened since the last one.
        options.ScrapeResponseCacheDurationMilliseconds = 0;
        // target_info and the otel_scope_* labels would put the same series on both endpoints, and a scope
        // label on every series the guide's rules and dashboards do not expect.
        options.TargetInfoEnabled = false;
        options.ScopeInfoEnabled = false;
    }
}
