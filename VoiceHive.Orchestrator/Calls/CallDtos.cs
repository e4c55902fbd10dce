namespace VoiceHive.Orchestrator.Calls;

public sealed record StartCallRequest(string? HotelId, string? CallerNumber, string? Language);

public sealed record TurnRequest(string? Utterance);

public sealed record EndCallRequest(string? Outcome);

public sealed record TurnResponse(Guid CallId, int Sequence, string Intent, string Reply, bool TransferToFrontDesk);

public sealed record CallTurnDto(int Sequence, string Utterance, string Intent, string Reply, bool TransferToFrontDesk, DateTimeOffset At);

public sealed record CallDto(
    Guid Id,
    string HotelId,
    string CallerMasked,
    string Language,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    double? DurationSeconds,
    int Turns,
    string? Outcome,
    bool? Succeeded,
    string? FailureReason,
    IReadOnlyList<CallTurnDto>? Transcript);

internal static class CallMapping
{
    public static CallDto AsDto(this Call call, bool withTranscript = false) => new(
        call.Id,
        call.HotelId,
        call.CallerMasked,
        call.Language,
        call.Status,
        call.StartedAt,
        call.EndedAt,
        call.EndedAt is { } ended ? (ended - call.StartedAt).TotalSeconds : null,
        call.TurnCount,
        call.Outcome,
        call.Succeeded,
        call.FailureReason,
        withTranscript
            ? call.Turns.OrderBy(t => t.Sequence).Select(t => new CallTurnDto(t.Sequence, t.Utterance, t.Intent, t.Reply, t.TransferredToFrontDesk, t.CreatedAt)).ToList()
            : null);
}
