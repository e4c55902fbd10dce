using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Exporter;
using VoiceHive.ServiceDefaults.Telemetry;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class TelemetrySettingsTests
{
    [Fact]
    public void DefaultsKeepEveryTraceAndExportNowhere()
    {
        var settings = Read([]);

        Assert.True(settings.MetricsEnabled);
        Assert.True(settings.TracingEnabled);
        Assert.Null(settings.Otlp);
        Assert.Null(settings.SecondaryTraces);
        Assert.Equal(new SamplerSettings("parentbased_always_on", null), settings.Sampler);
    }

    [Fact]
    public void GuideVariablesTurnSignalsOffAndSetTheSampleRate()
    {
        var settings = Read(new()
        {
            ["METRICS_ENABLED"] = "false",
            ["TRACING_ENABLED"] = "False",
            ["TRACE_SAMPLE_RATE"] = "0.01",
        });

        Assert.False(settings.MetricsEnabled);
        Assert.False(settings.TracingEnabled);
        Assert.Equal(new SamplerSettings("parentbased_traceidratio", 0.01), settings.Sampler);
    }

    [Fact]
    public void StandardSamplerVariablesWinOverTheGuideRate()
    {
        var settings = Read(new()
        {
            ["OTEL_TRACES_SAMPLER"] = "traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.25",
            ["TRACE_SAMPLE_RATE"] = "0.01",
        });

        Assert.Equal(new SamplerSettings("traceidratio", 0.25), settings.Sampler);
    }

    [Theory]
    [InlineData("http://collector:4317", null, "Grpc", "http://collector:4317/")]
    [InlineData("http://collector:4318", null, "HttpProtobuf", "http://collector:4318/v1/traces")]
    [InlineData("http://localhost:18889", "grpc", "Grpc", "http://localhost:18889/")]
    [InlineData("https://otel.example/base/", "http/protobuf", "HttpProtobuf", "https://otel.example/base/v1/traces")]
    public void OtlpEndpointAndProtocolAreRead(string endpoint, string? protocol, string expectedProtocol, string tracesUri)
    {
        var settings = Read(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            ["OTLP_ENDPOINT"] = "http://tempo:4317",
        });

        Assert.Equal(Enum.Parse<OtlpExportProtocol>(expectedProtocol), settings.Otlp!.Protocol);
        Assert.Equal(tracesUri, settings.Otlp.SignalEndpoint("traces").ToString());
        Assert.Equal(new OtlpDestination(new Uri("http://tempo:4317"), OtlpExportProtocol.Grpc), settings.SecondaryTraces);
    }

    [Theory]
    [InlineData("METRICS_ENABLED", "yes")]
    [InlineData("TRACING_ENABLED", "on")]
    [InlineData("OTLP_ENDPOINT", "tempo:4317")]
    [InlineData("OTLP_ENDPOINT", "ftp://tempo:4317")]
    [InlineData("TRACE_SAMPLE_RATE", "1.5")]
    [InlineData("TRACE_SAMPLE_RATE", "half")]
    [InlineData("OTEL_TRACES_SAMPLER", "jaeger_remote")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]
    [InlineData("OTEL_METRICS_EXPORTER", "prometheus")]
    [InlineData("OTEL_TRACES_EXPORTER", "otlp,console")]
    [InlineData("OTEL_LOGS_EXPORTER", "off")]
    public void InvalidValuesAreRejectedNamingTheVariable(string key, string value)
    {
        var exception = Assert.Throws<StartupFailedException>(() => Read(new() { [key] = value }));

        Assert.Contains(key, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OTLP_ENDPOINT")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT")]
    public void ARejectedEndpointIsNotRepeatedForItMayCarryCredentials(string key)
    {
        var exception = Assert.Throws<StartupFailedException>(() => Read(new() { [key] = "ftp://tracer:s3cret-key@tempo:4317" }));

        Assert.Contains(key, exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-key", exception.Message, StringComparison.Ordinal);
    }

    private static TelemetrySettings Read(Dictionary<string, string?> values) =>
        TelemetrySettings.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
}
