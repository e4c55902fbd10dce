using System.Diagnostics;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>The orchestrator's activity source; same name as its meter.</summary>
internal static class OrchestratorTelemetry
{
    public const string Name = OrchestratorMetrics.MeterName;

    public static readonly ActivitySource ActivitySource = new(Name);
}
