using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// What the telemetry pipeline of one service is set to do, read once from configuration:
/// the standard <c>OTEL_*</c> variables and the VoiceHive guide's own (<c>METRICS_ENABLED</c>,
/// <c>TRACING_ENABLED</c>, <c>TRACE_SAMPLE_RATE</c>, <c>OTLP_ENDPOINT</c>).
/// </summary>
public sealed record TelemetrySettings
{
    public bool MetricsEnabled { get; init; } = true;

    public bool TracingEnabled { get; init; } = true;

    /// <summary>The primary OTLP destination (the Aspire dashboard or a collector) for traces, metrics and logs.</summary>
    public OtlpDestination? Otlp { get; init; }

    /// <summary>
    /// The signals sent to <see cref="Otlp"/>: each of <c>OTEL_TRACES_EXPORTER</c>, <c>OTEL_METRICS_EXPORTER</c> and
    /// <c>OTEL_LOGS_EXPORTER</c> is <c>otlp</c> (the default) or <c>none</c>. Where Prometheus scrapes the metrics,
    /// <c>OTEL_METRICS_EXPORTER=none</c> saves the second copy of every measurement that an OTLP metric reader keeps.
    /// </summary>
    public OtlpSignals OtlpSignals { get; init; } = OtlpSignals.All;

    /// <summary>A second destination for traces only, such as Jaeger or Tempo.</summary>
    public OtlpDestination? SecondaryTraces { get; init; }

    public required SamplerSettings Sampler { get; init; }

    /// <summary><c>OTEL_SERVICE_NAME</c>, else the application's name.</summary>
    public string? ServiceName { get; init; }

    /// <summary><c>ENVIRONMENT</c> (the guide's), else the host environment.</summary>
    public string? EnvironmentName { get; init; }

    public static TelemetrySettings FromConfiguration(IConfiguration configuration)
    {
        var protocol = ParseProtocol(configuration["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        return new TelemetrySettings
        {
            ServiceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : null,
            EnvironmentName = configuration["ENVIRONMENT"] is { Length: > 0 } environment ? environment : null,
            MetricsEnabled = ParseFlag(configuration, "METRICS_ENABLED"),
            TracingEnabled = ParseFlag(configuration, "TRACING_ENABLED"),
            Otlp = OtlpDestination.Parse(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"], protocol, "OTEL_EXPORTER_OTLP_ENDPOINT")
                is { } otlp ? otlp with { Headers = configuration["OTEL_EXPORTER_OTLP_HEADERS"] } : null,
            OtlpSignals = ParseExporter(configuration, "OTEL_TRACES_EXPORTER", OtlpSignals.Traces)
                | ParseExporter(configuration, "OTEL_METRICS_EXPORTER", OtlpSignals.Metrics)
                | ParseExporter(configuration, "OTEL_LOGS_EXPORTER", OtlpSignals.Logs),
            SecondaryTraces = OtlpDestination.Parse(configuration["OTLP_ENDPOINT"], OtlpDestination.GuessProtocol(configuration["OTLP_ENDPOINT"]), "OTLP_ENDPOINT"),
            Sampler = SamplerSettings.FromConfiguration(configuration),
        };
    }

    /// <summary>The resource every signal carries: service name, version and instance, and the deployment environment.</summary>
    public ResourceBuilder Describe(ResourceBuilder resource, IHostEnvironment host) => resource
        .AddService(
            ServiceName ?? host.ApplicationName,
            serviceVersion: typeof(TelemetrySettings).Assembly.GetName().Version?.ToString() ?? "0.0.0",
            serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId)
        .AddAttributes([new("deployment.environment.name", EnvironmentName ?? host.EnvironmentName)]);

    /// <summary>
    /// Traces also to <c>OTLP_ENDPOINT</c> (Jaeger, Tempo), without <c>OTEL_EXPORTER_OTLP_HEADERS</c>: those carry
    /// the primary collector's credentials and are never sent elsewhere. An exporter of its own, because
    /// <c>UseOtlpExporter</c> serves one destination and refuses a second <c>AddOtlpExporter</c> beside it.
    /// </summary>
    public void AddSecondaryTraceExporter(TracerProviderBuilder tracing)
    {
        if (SecondaryTraces is not { } secondary)
        {
            return;
        }

        var options = new OtlpExporterOptions();
        secondary.Configure(options, "traces");
        tracing.AddProcessor(new BatchActivityExportProcessor(new OtlpTraceExporter(options)));
    }

    private static bool ParseFlag(IConfiguration configuration, string key)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        return bool.TryParse(value, out var flag)
            ? flag
            : throw new StartupFailedException($"{key} must be 'true' or 'false', not '{value}'.");
    }

    // The specification's other exporters (console, zipkin, prometheus: Prometheus's scrape is METRICS_ENABLED) are not here.
    private static OtlpSignals ParseExporter(IConfiguration configuration, string key, OtlpSignals signal) =>
        configuration[key]?.Trim().ToLowerInvariant() switch
        {
            null or "" or "otlp" => signal,
            "none" => OtlpSignals.None,
            _ => throw new StartupFailedException($"{key} must be 'otlp' or 'none', not '{configuration[key]}'."),
        };

    private static OtlpExportProtocol? ParseProtocol(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => null,
        "grpc" => OtlpExportProtocol.Grpc,
        "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
        _ => throw new StartupFailedException(
            $"OTEL_EXPORTER_OTLP_PROTOCOL must be 'grpc' or 'http/protobuf', not '{value}'."),
    };
}

/// <summary>The signals a service sends to its OTLP destination.</summary>
[Flags]
public enum OtlpSignals
{
    None = 0,
    Traces = 1,
    Metrics = 2,
    Logs = 4,
    All = Traces | Metrics | Logs,
}

/// <summary>One OTLP endpoint with its protocol.</summary>
public sealed record OtlpDestination(Uri Endpoint, OtlpExportProtocol Protocol)
{
    /// <summary>Headers sent with every export (<c>key=value,…</c>), or none.</summary>
    public string? Headers { get; init; }

    /// <summary>Points <paramref name="exporter"/> at this destination for one signal, with this destination's headers only.</summary>
    public void Configure(OtlpExporterOptions exporter, string signal)
    {
        exporter.Protocol = Protocol;
        exporter.Endpoint = SignalEndpoint(signal);
        exporter.Headers = Headers;
    }

    /// <summary>The URI a signal is posted to: gRPC takes the base address, HTTP/protobuf a path per signal.</summary>
    public Uri SignalEndpoint(string signal) => Protocol == OtlpExportProtocol.Grpc
        ? Endpoint
        : new Uri(Endpoint, Endpoint.AbsolutePath.TrimEnd('/') + "/v1/" + signal);

    internal static OtlpDestination? Parse(string? value, OtlpExportProtocol? protocol, string key)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            // The value is not repeated: an endpoint can carry credentials (https://user:key@…), and this line is logged.
            throw new StartupFailedException($"{key} must be an absolute http(s) URI, such as http://collector:4317.");
        }

        return new OtlpDestination(uri, protocol ?? GuessProtocol(value));
    }

    // OTLP's well-known ports: 4318 is HTTP/protobuf; anything else (4317, the Aspire dashboard) is gRPC,
    // which is also the OpenTelemetry .NET exporter's default.
    internal static OtlpExportProtocol GuessProtocol(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Port == 4318
            ? OtlpExportProtocol.HttpProtobuf
            : OtlpExportProtocol.Grpc;
}
