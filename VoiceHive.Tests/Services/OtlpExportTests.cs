using System.Text;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

/// <summary>
/// OTLP export happens exactly when it is configured: traces, metrics and logs to
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, traces also to <c>OTLP_ENDPOINT</c>; nothing otherwise.
/// Runs alone: ASP.NET Core's activity source is process-wide, so another host's always-on sampler
/// would mark this host's request activities as recorded (production runs one host per process).
/// </summary>
[Collection(nameof(AloneCollection))]
public sealed class OtlpExportTests(SharedServers servers)
{
    private const string CallerTraceId = "0af7651916cd43dd8448eb211c80319c";
    private const string TraceServicePath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    [Fact]
    public async Task ConfiguredEndpointsReceiveEverySignalAndProbesAreNotTraced()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var app = await ExportingToAsync(receiver, new()
        {
            ["OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString(),
            ["OTEL_SERVICE_NAME"] = "orchestrator-under-test",
        });
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/health", cancellationToken);
            await client.GetAsync("/metrics", cancellationToken);
            using var continued = new HttpRequestMessage(HttpMethod.Get, "/traced-but-not-found");
            continued.Headers.Add("traceparent", $"00-{CallerTraceId}-b7ad6b7169203331-01");
            await client.SendAsync(continued, cancellationToken);
        }

        // Stopping the host flushes every provider.
        await app.DisposeAsync();

        var traces = receiver.ReceivedOn("/v1/traces");
        var allTraceBytes = traces.SelectMany(t => t.Body).ToArray();
        Assert.True(traces.Count > 0, "received: " + string.Join(", ", receiver.Received.Select(r => r.Path)));
        Assert.NotEmpty(receiver.ReceivedOn("/v1/metrics"));
        Assert.True(receiver.ReceivedOn("/v1/logs").Count > 0, "received: " + string.Join(", ", receiver.Received.Select(r => r.Path)));
        Assert.NotEmpty(receiver.ReceivedOn(TraceServicePath));
        Assert.True(Contains(allTraceBytes, "/traced-but-not-found"), "the request span was exported");
        Assert.True(Contains(allTraceBytes, "http.response.status_code"), "the span carries semantic-convention attributes");
        Assert.True(allTraceBytes.AsSpan().IndexOf(Convert.FromHexString(CallerTraceId)) >= 0, "the span continues the caller's W3C trace");
        Assert.True(Contains(allTraceBytes, "orchestrator-under-test"), "the resource names the service");
        Assert.False(Contains(allTraceBytes, "/health"), "health probes are not traced");
        Assert.False(Contains(allTraceBytes, "/metrics"), "scrapes are not traced");
    }

    [Fact]
    public async Task NothingIsExportedWhenNoEndpointIsConfigured()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // A receiver where an unconfigured OTLP/HTTP exporter would send by default (localhost:4318).
        await using var receiver = await FakeOtlpReceiver.StartAsync(httpPort: 4318);
        var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf" });
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/traced-but-not-found", cancellationToken);
        }

        await app.DisposeAsync();

        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task AnAlwaysOffSamplerExportsNoSpansButStillMetricsAndLogs()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var app = await ExportingToAsync(receiver, new() { ["TRACE_SAMPLE_RATE"] = "0" });
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/traced-but-not-found", cancellationToken);
        }

        await app.DisposeAsync();

        var spans = receiver.ReceivedOn("/v1/traces").SelectMany(t => t.Body).ToArray();
        Assert.False(Contains(spans, "/traced-but-not-found"), "a sample rate of 0 keeps no trace");
        Assert.NotEmpty(receiver.ReceivedOn("/v1/metrics"));
        Assert.NotEmpty(receiver.ReceivedOn("/v1/logs"));
    }

    [Fact]
    public async Task ThePrimaryCollectorsHeadersGoWithEverySignalToItAndNeverToTheSecondTraceDestination()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var app = await ExportingToAsync(receiver, new()
        {
            ["OTEL_EXPORTER_OTLP_HEADERS"] = "x-collector-key=primary-secret",
            ["OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString(),
        });
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/traced-but-not-found", cancellationToken);
        }

        await app.DisposeAsync();

        var primary = receiver.Received.Where(r => r.Path.StartsWith("/v1/", StringComparison.Ordinal)).ToList();
        var secondary = receiver.ReceivedOn(TraceServicePath);
        Assert.Equal(["/v1/logs", "/v1/metrics", "/v1/traces"], primary.Select(r => r.Path).Distinct().Order());
        Assert.All(primary, export => Assert.Equal("primary-secret", export.Headers.GetValueOrDefault("x-collector-key")));
        Assert.NotEmpty(secondary);
        Assert.All(secondary, export => Assert.False(export.Headers.ContainsKey("x-collector-key"), "the second destination got the primary's header"));
    }

    [Fact]
    public async Task WithTracingDisabledNoSpanIsExportedButMetricsAndLogsAre()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var app = await ExportingToAsync(receiver, new() { ["TRACING_ENABLED"] = "false" });
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/traced-but-not-found", cancellationToken);
        }

        await app.DisposeAsync();

        var spans = receiver.ReceivedOn("/v1/traces").SelectMany(t => t.Body).ToArray();
        Assert.False(Contains(spans, "/traced-but-not-found"), "a request was traced with TRACING_ENABLED=false");
        Assert.NotEmpty(receiver.ReceivedOn("/v1/metrics"));
        Assert.NotEmpty(receiver.ReceivedOn("/v1/logs"));
    }

    [Fact]
    public async Task WithMetricsDisabledNoMeterIsExportedAndBothScrapeEndpointsStillAnswerEmpty()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var app = await ExportingToAsync(receiver, new() { ["METRICS_ENABLED"] = "false" });
        string platform, business;
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/traced-but-not-found", cancellationToken);
            platform = await client.GetStringAsync("/metrics", cancellationToken);
            business = await client.GetStringAsync("/monitoring/metrics", cancellationToken);
        }

        await app.DisposeAsync();

        // UseOtlpExporter still runs a MeterProvider, which exports the resource alone: no meter is in it.
        var metrics = receiver.ReceivedOn("/v1/metrics").SelectMany(r => r.Body).ToArray();
        Assert.Equal("", platform);
        Assert.Equal("", business);
        foreach (var meter in (string[])["System.Runtime", "Microsoft.AspNetCore.", "System.Net.Http", "voicehive."])
        {
            Assert.False(Contains(metrics, meter), $"{meter} was exported with METRICS_ENABLED=false");
        }

        Assert.NotEmpty(receiver.ReceivedOn("/v1/traces"));
        Assert.NotEmpty(receiver.ReceivedOn("/v1/logs"));
    }

    [Theory]
    [InlineData("OTEL_METRICS_EXPORTER", "/v1/metrics")]
    [InlineData("OTEL_TRACES_EXPORTER", "/v1/traces")]
    [InlineData("OTEL_LOGS_EXPORTER", "/v1/logs")]
    public async Task AnExporterSetToNoneLeavesItsSignalOutAndTheOthersGoWithTheirHeaders(string variable, string leftOut)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var app = await ExportingToAsync(receiver, new()
        {
            [variable] = "none",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = "x-collector-key=primary-secret",
        });
        using (var client = app.CreateClient())
        {
            await client.GetAsync("/traced-but-not-found", cancellationToken);
            await client.GetStringAsync("/metrics", cancellationToken);
        }

        await app.DisposeAsync();

        var received = receiver.Received.Where(r => r.Path.StartsWith("/v1/", StringComparison.Ordinal)).ToList();
        Assert.Equal(((string[])["/v1/logs", "/v1/metrics", "/v1/traces"]).Where(path => path != leftOut), received.Select(r => r.Path).Distinct().Order());
        Assert.All(received, export => Assert.Equal("primary-secret", export.Headers.GetValueOrDefault("x-collector-key")));
    }

    /// <summary>An orchestrator exporting OTLP/HTTP to <paramref name="receiver"/>, logging at Information so that there are log records to export.</summary>
    private async Task<OrchestratorApplication> ExportingToAsync(FakeOtlpReceiver receiver, Dictionary<string, string?> extra)
    {
        extra["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.HttpEndpoint.ToString();
        extra["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        extra["Logging:LogLevel:Default"] = "Information";
        return OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, extra);
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}
