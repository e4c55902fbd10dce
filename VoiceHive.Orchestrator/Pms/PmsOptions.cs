using System.ComponentModel.DataAnnotations;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>Section <c>Pms</c>.</summary>
public sealed class PmsOptions
{
    public const string Section = "Pms";

    /// <summary>How long a caller waits for the PMS within one turn before hearing the fallback.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>The timeout while the hotel is in degraded mode (a PMS alert is firing for it): callers hear the fallback sooner.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan DegradedTimeout { get; set; } = TimeSpan.FromSeconds(1);
}
