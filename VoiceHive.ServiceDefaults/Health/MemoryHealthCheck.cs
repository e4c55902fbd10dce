using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace VoiceHive.ServiceDefaults.Health;

/// <summary>
/// Degraded when the process's resident memory exceeds <c>MEMORY_USAGE_THRESHOLD</c> percent
/// (default 80) of the memory the runtime may use: the container limit where there is one,
/// physical memory otherwise. Degraded, not unhealthy: a full process still answers calls.
/// </summary>
internal sealed class MemoryHealthCheck(IConfiguration configuration) : IHealthCheck
{
    public const string Name = "memory";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var threshold = ReadThreshold(configuration["MEMORY_USAGE_THRESHOLD"]);
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        using var process = Process.GetCurrentProcess();
        var resident = process.WorkingSet64;
        var percent = available > 0 ? resident * 100.0 / available : 0;
        var description = string.Create(CultureInfo.InvariantCulture,
            $"resident memory {resident / (1024 * 1024)} MiB is {percent:F1}% of {available / (1024 * 1024)} MiB available (threshold {threshold:F0}%)");
        return Task.FromResult(percent > threshold ? HealthCheckResult.Degraded(description) : HealthCheckResult.Healthy(description));
    }

    private static double ReadThreshold(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold) && threshold is > 0 and <= 100
            ? threshold
            : 80.0;
}
