using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using VoiceHive.ServiceDefaults;
using VoiceHive.ServiceDefaults.Health;
using VoiceHive.ServiceDefaults.Http;
using VoiceHive.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every VoiceHive service shares, in the shape of the Aspire ServiceDefaults template: OpenTelemetry,
/// health checks, service discovery and HTTP resilience. VoiceHive's additions: the guide's telemetry
/// variables (<see cref="TelemetrySettings"/>), a second trace destination, the two scrape endpoints, the
/// JSON health report, probes mapped in every environment, and glibc's malloc kept trimming the arenas the JIT
/// allocates from (<see cref="NativeHeap"/>).
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";
    public const string BusinessMetricsEndpointPath = "/monitoring/metrics";

    /// <summary>The orchestrator's list of replicas for Prometheus's HTTP service discovery, which Prometheus (or the AppHost) polls.</summary>
    public const string ScrapeTargetsEndpointPath = "/monitoring/scrape-targets";

    /// <summary>The section the standard resilience handler of every HttpClient is configured from.</summary>
    public const string HttpResilienceSection = "HttpResilience";

    /// <summary>Every service's own meters and activity sources are named <c>voicehive.&lt;service&gt;</c>; this pattern collects them.</summary>
    public const string ServiceTelemetryPattern = "voicehive.*";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ReportStartupFailuresInOneLine();

        NativeHeap.FixMallocThresholds();

        builder.ConfigureOpenTelemetry();

        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler().Configure(options =>
            {
                builder.Configuration.GetSection(HttpResilienceSection).Bind(options);
                options.Retry.ShouldHandle = HttpRetries.ShouldRetry;
            });

            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var settings = TelemetrySettings.FromConfiguration(builder.Configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(TimeProvider.System);

        if (!builder.Environment.IsDevelopment())
        {
            // One JSON object a line, with scopes (trace and span ids among them) for log shippers.
            builder.Logging.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => settings.Describe(resource, builder.Environment));

        if (settings.MetricsEnabled)
        {
            builder.Services.AddSingleton<ProcessMetrics>();
            builder.Services.AddSingleton<BusinessMeterProvider>();
            telemetry.WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddHostMeterScope()
                .AddPrometheusExporter(PrometheusScrapeOptions.Configure));
        }

        if (settings.TracingEnabled)
        {
            telemetry.WithTracing(tracing =>
            {
                tracing.SetSampler(new UntracedWorkSampler(settings.Sampler.CreateSampler()))
                    .AddSource(ServiceTelemetryPattern)
                    .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsProbeOrScrape(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddInstrumentation(() => new DatabaseErrorRedaction());
                settings.AddSecondaryTraceExporter(tracing);
            });
        }

        if (settings.Otlp is { } otlp)
        {
            if (settings.OtlpSignals == OtlpSignals.All)
            {
                telemetry.UseOtlpExporter(otlp.Protocol, otlp.Endpoint);
            }
            else
            {
                // UseOtlpExporter sends every signal; an OTEL_*_EXPORTER=none leaves its signal out.
                if (settings.OtlpSignals.HasFlag(OtlpSignals.Traces))
                {
                    telemetry.WithTracing(tracing => tracing.AddOtlpExporter(exporter => otlp.Configure(exporter, "traces")));
                }

                if (settings.OtlpSignals.HasFlag(OtlpSignals.Metrics))
                {
                    telemetry.WithMetrics(metrics => metrics.AddOtlpExporter(exporter => otlp.Configure(exporter, "metrics")));
                }

                if (settings.OtlpSignals.HasFlag(OtlpSignals.Logs))
                {
                    telemetry.WithLogging(logging => logging.AddOtlpExporter(exporter => otlp.Configure(exporter, "logs")));
                }
            }

            // The exporters' own HttpClient, as where no IHttpClientFactory is registered. From the factory, the client would get
            // ConfigureHttpClientDefaults' handlers: service discovery, and the standard resilience pipeline, whose circuit breaker
            // every client shares, so a collector outage would open the circuit of the PMS client too.
            builder.Services.Configure<OtlpExporterOptions>(exporter =>
                exporter.HttpClientFactory = () => new HttpClient { Timeout = TimeSpan.FromMilliseconds(exporter.TimeoutMilliseconds) });
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var memoryThreshold = MemoryHealthCheck.ReadThreshold(builder.Configuration[MemoryHealthCheck.ThresholdVariable]);
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy("the process is running"), ["live"])
            .AddCheck(MemoryHealthCheck.Name, new MemoryHealthCheck(memoryThreshold), failureStatus: null, tags: ["ready"], timeout: TimeSpan.FromSeconds(5));

        return builder;
    }

    /// <summary>
    /// <c>/health</c> (readiness: every check), <c>/alive</c> (liveness: the process), <c>/metrics</c> (the
    /// platform's meters) and <c>/monitoring/metrics</c> (the business meters). Mapped in every environment:
    /// Kubernetes and Container Apps probe them, and Prometheus scrapes them.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Open to anyone who can reach the service, as probes need: the body names checks and their state, nothing secret.
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync })
            .DisableHttpMetrics().AllowAnonymous();

        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
            ResponseWriter = HealthReportWriter.WriteAsync,
        }).DisableHttpMetrics().AllowAnonymous();

        // Prometheus's scrape token when Monitoring:ScrapeToken is set (required outside Development).
        app.MapMetricsEndpoint().DisableHttpMetrics().RequireAuthorization(AuthenticationExtensions.ScrapePolicy);
        app.MapBusinessMetricsEndpoint().DisableHttpMetrics().RequireAuthorization(AuthenticationExtensions.ScrapePolicy);
        return app;
    }

    /// <summary>
    /// <c>/metrics</c>: runtime, ASP.NET Core, Kestrel, HttpClient and Npgsql. Decided by the setting, not by whether a
    /// MeterProvider exists: <c>UseOtlpExporter</c> turns every signal on, so with an OTLP endpoint there is one, without
    /// the Prometheus exporter, even when <c>METRICS_ENABLED=false</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapMetricsEndpoint(this WebApplication app) =>
        app.Services.GetRequiredService<TelemetrySettings>().MetricsEnabled
            ? app.MapPrometheusScrapingEndpoint(MetricsEndpointPath, app.Services.GetRequiredService<MeterProvider>(), configureBranchedPipeline: null, optionsName: null)
            : app.MapEmptyExposition(MetricsEndpointPath);

    /// <summary><c>/monitoring/metrics</c>: the <c>voicehive.*</c> meters only, so no series is scraped twice.</summary>
    public static IEndpointConventionBuilder MapBusinessMetricsEndpoint(this WebApplication app) =>
        app.Services.GetService<BusinessMeterProvider>() is { } business
            ? app.MapPrometheusScrapingEndpoint(BusinessMetricsEndpointPath, business.Provider, configureBranchedPipeline: null, optionsName: null)
            : app.MapEmptyExposition(BusinessMetricsEndpointPath);

    /// <summary>With <c>METRICS_ENABLED=false</c> a scrape still answers, so the target stays up and the alert rules see no gap.</summary>
    private static IEndpointConventionBuilder MapEmptyExposition(this WebApplication app, string path) =>
        app.MapGet(path, () => TypedResults.Text("", "text/plain; version=0.0.4; charset=utf-8")).ExcludeFromDescription();

    internal static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments(HealthEndpointPath) || path.StartsWithSegments(AlivenessEndpointPath)
        || path.StartsWithSegments(MetricsEndpointPath) || path.StartsWithSegments(BusinessMetricsEndpointPath)
        || path.StartsWithSegments(ScrapeTargetsEndpointPath);
}
