using System.ComponentModel.DataAnnotations;

namespace VoiceHive.Orchestrator.Calls;

public sealed record StartCallRequest(
    [property: Required(ErrorMessage = StartCallRequest.HotelIdRule)]
    [property: RegularExpression("^[a-z0-9][a-z0-9-]{0,63}$", ErrorMessage = StartCallRequest.HotelIdRule)]
    string HotelId,
    [property: Required(ErrorMessage = StartCallRequest.CallerNumberRule)]
    [property: RegularExpression(Infrastructure.CallerPrivacy.E164Pattern, ErrorMessage = StartCallRequest.CallerNumberRule)]
    string CallerNumber,
    [property: Required(ErrorMessage = StartCallRequest.LanguageRule)]
    [property: RegularExpression("^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", ErrorMessage = StartCallRequest.LanguageRule)]
    string Language)
{
    private const string HotelIdRule = "Required: lower-case letters, digits and dashes, at most 64 characters.";
    private const string CallerNumberRule = "Required: an E.164 number, such as +442071234567.";
    private const string LanguageRule = "Required: a language tag such as en or en-GB.";
}

public sealed record TurnRequest(
    [property: Required(ErrorMessage = TurnRequest.Rule)]
    [property: MaxLength(CallsApi.MaxUtteranceLength, ErrorMessage = TurnRequest.Rule)]
    string Utterance)
{
    private const string Rule = "Required: what the caller said, at most 2000 characters.";
}

public sealed record EndCallRequest(
    [property: Required(ErrorMessage = EndCallRequest.Rule)]
    [property: AllowedValues(CallOutcomes.Resolved, CallOutcomes.Transferred, CallOutcomes.Abandoned, CallOutcomes.Dropped, ErrorMessage = EndCallRequest.Rule)]
    string Outcome)
{
    private const string Rule = "Required: one of resolved, transferred, abandoned, dropped.";
}

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
