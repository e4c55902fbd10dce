using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace VoiceHive.ServiceDefaults.Health;

/// <summary>
/// Degraded when the process's resident memory exceeds <c>MEMORY_USAGE_THRESHOLD</c> percent
/// (default 80) of the memory the runtime may use: the container limit where there is one,
/// physical memory otherwise. Degraded, not unhealthy: a full process still answers calls.
/// </summary>
internal sealed class MemoryHealthCheck(double thresholdPercent) : IHealthCheck
{
    public const string Name = "memory";
    public const string ThresholdVariable = "MEMORY_USAGE_THRESHOLD";
    private const double DefaultThreshold = 80;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        using var process = Process.GetCurrentProcess();
        var resident = process.WorkingSet64;
        var percent = available > 0 ? resident * 100.0 / available : 0;
        var description = string.Create(CultureInfo.InvariantCulture,
            $"resident memory {resident / (1024 * 1024)} MiB is {percent:F1}% of {available / (1024 * 1024)} MiB available (threshold {thresholdPercent:0.##}%)");
        return Task.FromResult(percent > thresholdPercent ? HealthCheckResult.Degraded(description) : HealthCheckResult.Healthy(description));
    }

    /// <summary>The threshold in percent, read once at start-up; a value that is not a percentage stops the start with one line naming it.</summary>
    public static double ReadThreshold(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return DefaultThreshold;
        }

        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold) || threshold is <= 0 or > 100 || double.IsNaN(threshold))
        {
            throw new StartupFailedException($"{ThresholdVariable} must be a percentage above 0 and at most 100, not '{value}'.");
        }

        return threshold;
    }
}
