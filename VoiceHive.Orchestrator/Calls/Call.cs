namespace VoiceHive.Orchestrator.Calls;

/// <summary>A call's record in PostgreSQL. The caller's number is kept only as a keyed hash and a mask.</summary>
public sealed class Call
{
    public Guid Id { get; init; }

    public required string HotelId { get; init; }

    public required string CallerHash { get; init; }

    public required string CallerMasked { get; init; }

    public required string Language { get; init; }

    public string Status { get; set; } = CallStatus.Active;

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>For a success: resolved, transferred or abandoned.</summary>
    public string? Outcome { get; set; }

    /// <summary>For a failure: dropped, system_error or pms_unavailable.</summary>
    public string? FailureReason { get; set; }

    public bool? Succeeded { get; set; }

    public int TurnCount { get; set; }

    /// <summary>The PMS failed during the call and the caller got no answer from it.</summary>
    public bool PmsFailed { get; set; }

    /// <summary>An unhandled error happened while the call was being served.</summary>
    public bool HadError { get; set; }

    public List<CallTurn> Turns { get; init; } = [];
}

/// <summary>One caller utterance and the reply. The utterance is transcript: stored, never logged or traced.</summary>
public sealed class CallTurn
{
    public long Id { get; init; }

    public Guid CallId { get; init; }

    public int Sequence { get; init; }

    public required string Utterance { get; init; }

    public required string Intent { get; init; }

    public required string Reply { get; init; }

    public bool TransferredToFrontDesk { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

public static class CallStatus
{
    public const string Active = "active";
    public const string Ended = "ended";
}

/// <summary>
/// What the client reports at the end, and how it counts for the SLA. A failure is a call the system let
/// down: a dropped line, an unhandled error, or a PMS that could not answer with no fallback. A caller
/// who hangs up (abandoned) or is transferred as asked is not a failure.
/// </summary>
public static class CallOutcomes
{
    public const string Resolved = "resolved";
    public const string Transferred = "transferred";
    public const string Abandoned = "abandoned";
    public const string Dropped = "dropped";

    public const string SystemError = "system_error";
    public const string PmsUnavailable = "pms_unavailable";

    public static Infrastructure.CallResult Evaluate(string reported, bool hadError, bool pmsFailed) => reported switch
    {
        Dropped => Infrastructure.CallResult.Failure(Dropped),
        _ when hadError => Infrastructure.CallResult.Failure(SystemError),
        _ when pmsFailed => Infrastructure.CallResult.Failure(PmsUnavailable),
        _ => Infrastructure.CallResult.Success(reported),
    };
}
