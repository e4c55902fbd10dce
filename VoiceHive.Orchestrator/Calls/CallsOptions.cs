using System.ComponentModel.DataAnnotations;

namespace VoiceHive.Orchestrator.Calls;

/// <summary>Section <c>Calls</c>.</summary>
public sealed class CallsOptions
{
    public const string Section = "Calls";

    /// <summary>How long an active call's state lives in Redis after its last turn.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan ActiveCallTtl { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Key of the HMAC that turns a caller's number into a correlation key. Required outside Development.</summary>
    [Required]
    [MinLength(16)]
    public string CallerHashKey { get; set; } = "";
}
