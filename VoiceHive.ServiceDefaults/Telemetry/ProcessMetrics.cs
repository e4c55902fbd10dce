using System.Diagnostics.Metrics;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// The process-level business metric every service exposes on <c>/monitoring/metrics</c>:
/// <c>voicehive.memory.usage</c> (resident memory), which the VoiceHive guide's HighMemoryUsage
/// rule reads as <c>voicehive_memory_usage_bytes</c>.
/// </summary>
public sealed class ProcessMetrics
{
    public const string MeterName = "voicehive.process";

    public ProcessMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge(
            "voicehive.memory.usage",
            static () => Environment.WorkingSet,
            unit: "By",
            description: "Resident memory of the service process.");
    }
}
