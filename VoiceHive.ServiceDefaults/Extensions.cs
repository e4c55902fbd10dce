using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using VoiceHive.ServiceDefaults.Health;
using VoiceHive.ServiceDefaults.Prometheus;
using VoiceHive.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every VoiceHive service shares: OpenTelemetry (metrics, traces, logs), the Prometheus
/// scrape endpoints, health checks, HTTP resilience and service discovery. The shape of the
/// Aspire ServiceDefaults template, on packages that restore here.
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";
    public const string BusinessMetricsEndpointPath = "/monitoring/metrics";

    /// <summary>Meters whose names start with this are the business meters, exposed only on <see cref="BusinessMetricsEndpointPath"/>.</summary>
    public const string BusinessMeterPrefix = "voicehive.";

    /// <summary>The platform's own meters: runtime, ASP.NET Core, HttpClient, Npgsql.</summary>
    public static readonly string[] PlatformMeters =
    [
        "System.Runtime",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
        "System.Net.Http",
        "System.Net.NameResolution",
        "Npgsql",
    ];

    /// <summary>
    /// Every service's own meters and activity sources are named <c>voicehive.&lt;service&gt;</c>
    /// (constants on the class that owns them); this pattern collects them all.
    /// </summary>
    public const string ServiceTelemetryPattern = "voicehive.*";

    /// <summary>The platform's own activity sources: ASP.NET Core, HttpClient, Npgsql.</summary>
    public static readonly string[] PlatformActivitySources = ["Microsoft.AspNetCore", "System.Net.Http", "Npgsql"];

    private static readonly string[] UntracedPathList =
        [HealthEndpointPath, AlivenessEndpointPath, MetricsEndpointPath, BusinessMetricsEndpointPath];

    /// <summary>Telemetry, health checks, HTTP resilience and service discovery.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.AddBasicServiceDefaults();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddDefaultResilienceHandler();
            http.AddConfigurationServiceDiscovery();
        });
        return builder;
    }

    /// <summary>Telemetry, health checks and authentication only (a service that calls no other over HTTP).</summary>
    public static TBuilder AddBasicServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.AddDefaultAuthentication();
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

        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured
            ? configured
            : builder.Environment.ApplicationName;
        var environment = builder.Configuration["ENVIRONMENT"] is { Length: > 0 } env ? env : builder.Environment.EnvironmentName;
        var version = typeof(Extensions).Assembly.GetName().Version?.ToString() ?? "0.0.0";

        var telemetry = new HostOpenTelemetryBuilder(builder.Services)
            .ConfigureResource(resource => resource
                .AddService(serviceName, serviceVersion: version, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId)
                .AddAttributes([new("deployment.environment.name", environment)])
                .AddEnvironmentVariableDetector());

        builder.Logging.AddOpenTelemetry(options =>
        {
            options.IncludeScopes = true;
            options.IncludeFormattedMessage = true;
        });
        if (settings.Otlp is { } logDestination)
        {
            builder.Services.ConfigureOpenTelemetryLoggerProvider(logging =>
                logging.AddOtlpExporter(exporter => Configure(exporter, logDestination, "logs")));
        }

        if (settings.MetricsEnabled)
        {
            builder.Services.AddSingleton<PrometheusScraper>();
            builder.Services.AddSingleton<ProcessMetrics>();
            var scope = new HostMeterScope();
            telemetry.WithMetrics(metrics =>
            {
                metrics.AddMeter(PlatformMeters);
                metrics.AddMeter(ServiceTelemetryPattern);
                metrics.AddReader(sp => scope.Bind(sp, sp.GetRequiredService<PrometheusScraper>().Reader));
                metrics.AddView(scope.Filter);
                if (settings.Otlp is { } otlp)
                {
                    metrics.AddOtlpExporter(exporter => Configure(exporter, otlp, "metrics"));
                }
            });
        }

        if (settings.TracingEnabled)
        {
            builder.Services.AddSingleton(new UntracedPaths(UntracedPathList));
            builder.Services.AddTransient<IStartupFilter, HttpServerTracingStartupFilter>();
            telemetry.WithTracing(tracing =>
            {
                tracing.SetSampler(new UnrecordedParentSampler(settings.Sampler.CreateSampler()));
                tracing.AddSource(PlatformActivitySources);
                tracing.AddSource(ServiceTelemetryPattern);
                if (settings.Otlp is { } otlp)
                {
                    tracing.AddOtlpExporter("otlp", exporter => Configure(exporter, otlp, "traces"));
                }

                if (settings.SecondaryTraces is { } secondary)
                {
                    tracing.AddOtlpExporter("otlp-secondary", exporter =>
                    {
                        Configure(exporter, secondary, "traces");
                        // OTEL_EXPORTER_OTLP_HEADERS carry the primary collector's credentials: never send them elsewhere.
                        exporter.Headers = null;
                    });
                }
            });
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy("the process is running"), ["live"])
            .AddCheck<MemoryHealthCheck>(MemoryHealthCheck.Name, tags: ["ready"], timeout: TimeSpan.FromSeconds(5));
        return builder;
    }

    /// <summary>
    /// <c>/health</c> (readiness: every check), <c>/alive</c> (liveness: the process), <c>/metrics</c>
    /// (every meter but the business ones) and <c>/monitoring/metrics</c> (the business meters only).
    /// Mapped in every environment: Kubernetes and Container Apps probe them.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync })
            .DisableHttpMetrics();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
            ResponseWriter = HealthReportWriter.WriteAsync,
        }).DisableHttpMetrics();
        app.MapPrometheusScrapingEndpoint(MetricsEndpointPath, meter => !IsBusinessMeter(meter)).RequireAuthorization(AuthenticationExtensions.ScrapePolicy);
        app.MapPrometheusScrapingEndpoint(BusinessMetricsEndpointPath, IsBusinessMeter).RequireAuthorization(AuthenticationExtensions.ScrapePolicy);
        return app;
    }

    public static bool IsBusinessMeter(string meterName) =>
        meterName.StartsWith(BusinessMeterPrefix, StringComparison.OrdinalIgnoreCase);

    private static void Configure(OtlpExporterOptions exporter, OtlpDestination destination, string signal)
    {
        exporter.Protocol = destination.Protocol;
        exporter.Endpoint = destination.SignalEndpoint(signal);
    }
}
