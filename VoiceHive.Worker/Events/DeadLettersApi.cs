using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using VoiceHive.Worker.Infrastructure;

namespace VoiceHive.Worker.Events;

/// <summary>
/// The dead-letter stream for operators (scope <c>operations</c>): <c>GET /admin/dead-letters</c> lists what is there
/// (without payloads), <c>POST /admin/dead-letters/replay</c> puts entries back on the event stream, all of them or
/// those named, and answers how many. Replaying is safe: an event applied meanwhile is recognised by its id and not
/// applied twice (dead letters are kept for <c>Retention:Events</c>, no longer than the record of applied events); one
/// still failing comes back after <c>Consumer:MaxDeliveries</c>.
/// </summary>
public static class DeadLettersApi
{
    public const int MaxEntries = 1_000;

    public static RouteGroupBuilder MapDeadLettersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/admin/dead-letters").WithTags("Dead letters").RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        api.MapGet("/", ListAsync).WithName("ListDeadLetters");
        api.MapPost("/replay", ReplayAsync).WithName("ReplayDeadLetters");
        return api;
    }

    public static async Task<Ok<DeadLetterList>> ListAsync(
        EventStream stream, [Range(1, MaxEntries, ErrorMessage = "from 1 to 1000")] int? limit)
    {
        var (count, entries) = await stream.DeadLettersAsync(limit ?? 100);
        return TypedResults.Ok(new DeadLetterList(count, entries));
    }

    public static async Task<Ok<ReplayResult>> ReplayAsync(EventStream stream, WorkerMetrics metrics, ReplayRequest? request, ILogger<EventStream> logger)
    {
        var replayed = await stream.ReplayAsync(request?.Ids, MaxEntries);
        foreach (var entry in replayed)
        {
            metrics.Replayed(entry.Type);
        }

        DeadLettersLog.Replayed(logger, replayed.Count);
        return TypedResults.Ok(new ReplayResult(replayed.Count, replayed.Select(e => e.Id).ToList()));
    }

    /// <summary>A Redis stream entry id: milliseconds, a dash and a sequence number, both unsigned 64-bit.</summary>
    internal static bool IsStreamEntryId(string? id) =>
        id?.Split('-') is [var milliseconds, var sequence]
        && ulong.TryParse(milliseconds, NumberStyles.None, CultureInfo.InvariantCulture, out _)
        && ulong.TryParse(sequence, NumberStyles.None, CultureInfo.InvariantCulture, out _);
}

/// <summary>How many entries the dead-letter stream holds, and the oldest of them.</summary>
public sealed record DeadLetterList(long Count, IReadOnlyList<DeadLetter> Entries);

/// <summary>Dead-letter ids to replay; none (or no body) replays every entry, up to <see cref="DeadLettersApi.MaxEntries"/> at a time.</summary>
public sealed record ReplayRequest(
    [property: MaxLength(DeadLettersApi.MaxEntries, ErrorMessage = ReplayRequest.IdsRule)] IReadOnlyCollection<string>? Ids) : IValidatableObject
{
    public const string IdsRule = "at most 1000 dead-letter ids, each as the list gives them (<milliseconds>-<sequence>)";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Ids?.Any(id => !DeadLettersApi.IsStreamEntryId(id)) == true)
        {
            yield return new ValidationResult(IdsRule, [nameof(Ids)]);
        }
    }
}

public sealed record ReplayResult(int Replayed, IReadOnlyList<string> Ids);

internal static partial class DeadLettersLog
{
    [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "An operator replayed {Count} dead-lettered events onto the event stream")]
    public static partial void Replayed(ILogger logger, int count);
}
