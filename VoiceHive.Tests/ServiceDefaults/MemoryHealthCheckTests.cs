using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using VoiceHive.ServiceDefaults.Health;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class MemoryHealthCheckTests
{
    [Theory]
    [InlineData("eighty")]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("-5")]
    [InlineData("NaN")]
    public void AThresholdThatIsNotAPercentageStopsTheStartNamingTheVariable(string value)
    {
        var exception = Assert.Throws<StartupFailedException>(() => MemoryHealthCheck.ReadThreshold(value));

        Assert.Contains("MEMORY_USAGE_THRESHOLD", exception.Message, StringComparison.Ordinal);
        Assert.Contains(value, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 80)]
    [InlineData(" ", 80)]
    [InlineData("65.5", 65.5)]
    [InlineData("100", 100)]
    public void TheThresholdDefaultsTo80Percent(string? value, double expected) =>
        Assert.Equal(expected, MemoryHealthCheck.ReadThreshold(value));

    [Fact]
    public async Task AProcessAboveTheThresholdIsDegradedNotUnhealthy()
    {
        // Any running process holds more than a millionth of a percent of the machine's memory.
        var above = await new MemoryHealthCheck(0.000001).CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);
        var below = await new MemoryHealthCheck(100).CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Degraded, above.Status);
        Assert.Contains("resident memory", above.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, below.Status);
    }
}
