using VoiceHive.ServiceDefaults.Prometheus;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class ExpositionNegotiationTests
{
    [Theory]
    [InlineData(null, "PrometheusText")]
    [InlineData("", "PrometheusText")]
    [InlineData("*/*", "PrometheusText")]
    [InlineData("text/plain", "PrometheusText")]
    [InlineData("text/plain;version=0.0.4", "PrometheusText")]
    [InlineData("application/openmetrics-text", "OpenMetrics")]
    [InlineData("application/openmetrics-text;version=1.0.0", "OpenMetrics")]
    [InlineData("application/openmetrics-text;version=0.0.1", "PrometheusText")]
    [InlineData("application/openmetrics-text; version=\"1.0.0\"", "OpenMetrics")]
    // What Prometheus 2.x sends by default.
    [InlineData("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "OpenMetrics")]
    [InlineData("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5", "PrometheusText")]
    [InlineData("application/openmetrics-text;q=0", "PrometheusText")]
    [InlineData("this is ;;; not a media type", "PrometheusText")]
    public void AcceptHeaderChoosesTheFormat(string? accept, string expected)
    {
        Assert.Equal(Enum.Parse<ExpositionFormat>(expected), ExpositionFormats.Negotiate([accept]));
    }
}
