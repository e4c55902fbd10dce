using System.ComponentModel.DataAnnotations;

namespace VoiceHive.Traffic;

/// <summary>Section <c>Traffic</c>: where the calls go and how many; the rate and the switch are changed at runtime through the API.</summary>
public sealed class TrafficOptions
{
    public const string Section = "Traffic";

    /// <summary>The orchestrator's address (service discovery resolves <c>https+http://orchestrator</c>).</summary>
    [Required]
    public Uri Orchestrator { get; set; } = new("https+http://orchestrator");

    /// <summary>The bearer token the calls are made with (scope <c>calls</c>), when the orchestrator asks for one.</summary>
    public string? Token { get; set; }

    [Range(TrafficState.MinimumRate, TrafficState.MaximumRate)]
    public double CallsPerSecond { get; set; } = 1;

    public bool Running { get; set; } = true;

    /// <summary>
    /// The share of calls that end as a dropped line, a failure the SLA counts: a few in a thousand keep the call
    /// success rate above its 99 % threshold, so that the dashboards show failures and the alert stays quiet.
    /// </summary>
    [Range(0.0, 1.0)]
    public double DroppedCallShare { get; set; } = 0.002;

    /// <summary>Calls in flight at once, at most: a slow orchestrator is not buried under ever more calls.</summary>
    [Range(1, 256)]
    public int MaxConcurrentCalls { get; set; } = 32;
}
