using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VoiceHive.Orchestrator.Infrastructure;

namespace VoiceHive.Orchestrator.Calls;

public static class CallsApi
{
    public const int MaxUtteranceLength = 2000;

    public static RouteGroupBuilder MapCallsApi(this IEndpointRouteBuilder app)
    {
        // The call channel (a telephony gateway, scope "calls") and the record with its transcript (operators, scope
        // "operations"): two groups on one prefix, so that a calls token never reads what a caller said.
        var api = app.MapGroup("/api/calls").WithTags("Calls")
            .RequireAuthorization(AuthenticationExtensions.CallsPolicy).RequireRateLimiting(RateLimiting.CallsPolicy);
        var records = app.MapGroup("/api/calls").WithTags("Calls").RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        api.MapPost("/", StartCallAsync).WithName("StartCall").WithSummary("Start a call on a hotel's line")
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        api.MapPost("/{id:guid}/turns", TakeTurnAsync).WithName("TakeTurn").WithSummary("Handle one caller utterance")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/{id:guid}/end", EndCallAsync).WithName("EndCall").WithSummary("End a call with its outcome")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        records.MapGet("/{id:guid}", GetCallAsync).WithName("GetCall").WithSummary("A call's record and transcript")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.ProducesValidationProblem().ProducesProblem(StatusCodes.Status503ServiceUnavailable).ProducesProblem(StatusCodes.Status429TooManyRequests);
        records.ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return api;
    }

    public static async Task<Results<Created<CallDto>, ProblemHttpResult>> StartCallAsync(StartCallRequest request, [AsParameters] CallServices services)
    {
        if (!await services.Db.Hotels.AnyAsync(h => h.Id == request.HotelId, services.Cancellation))
        {
            return Problems.UnprocessableProblem(new Dictionary<string, string[]> { ["hotelId"] = [$"No hotel '{request.HotelId}' is served by VoiceHive."] });
        }

        var call = new Call
        {
            Id = Guid.CreateVersion7(),
            HotelId = request.HotelId,
            CallerHash = services.Privacy.Hash(request.CallerNumber),
            CallerMasked = CallerPrivacy.Mask(request.CallerNumber),
            Language = request.Language,
            StartedAt = services.Time.GetUtcNow(),
        };
        Activity.Current?.SetTag("voicehive.call.id", call.Id.ToString());
        Activity.Current?.SetTag("voicehive.hotel_id", call.HotelId);

        // The call exists once both stores have it: the Redis state is written inside the transaction,
        // so a Redis failure leaves no half-started call behind.
        await using (var transaction = await services.Db.Database.BeginTransactionAsync(services.Cancellation))
        {
            services.Db.Calls.Add(call);
            await services.Db.SaveChangesAsync(services.Cancellation);
            await services.Db.Database.ExecuteSqlAsync(Events.Outbox.Insert(Events.Outbox.CallStarted, JsonSerializer.Serialize(new
            {
                callId = call.Id,
                hotelId = call.HotelId,
                startedAt = call.StartedAt,
            }, JsonSerializerOptions.Web)), services.Cancellation);
            await services.Store.SetAsync(ActiveCallState.From(call));
            await transaction.CommitAsync(services.Cancellation);
        }

        services.Metrics.CallStarted(call.HotelId);
        CallsLog.CallStarted(services.Logger, call.Id, call.HotelId, call.Language);
        return TypedResults.Created($"/api/calls/{call.Id}", call.AsDto());
    }

    public static async Task<Results<Ok<TurnResponse>, ProblemHttpResult>> TakeTurnAsync(
        Guid id, TurnRequest request, [AsParameters] CallServices services)
    {
        using var activity = OrchestratorTelemetry.ActivitySource.StartActivity("call turn");
        activity?.SetTag("voicehive.call.id", id.ToString());
        var state = await services.Store.GetAsync(id);
        if (state is null)
        {
            // Not in Redis: ended, unknown, or its state expired or was lost; PostgreSQL decides.
            var call = await services.Db.Calls.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, services.Cancellation);
            if (call is null)
            {
                return NotFound(id);
            }

            if (call.Status == CallStatus.Ended)
            {
                return Ended(id);
            }

            state = ActiveCallState.From(call);
        }

        activity?.SetTag("voicehive.hotel_id", state.HotelId);
        var today = DateOnly.FromDateTime(services.Time.GetUtcNow().UtcDateTime);
        var detected = services.Classifier.Classify(request.Utterance, today);
        activity?.SetTag("voicehive.intent", detected.Intent);
        TurnAnswer answer;
        try
        {
            answer = await services.Conversation.AnswerAsync(state, detected, services.Cancellation);
        }
        catch (Exception exception) when (ServiceDefaults.Data.DependencyFailures.UnavailableDependency(exception) is null && exception is not OperationCanceledException)
        {
            await MarkErrorAsync(services, id);
            throw;
        }

        var sequence = state.Turns + 1;
        var pmsFailed = answer.PmsRequest?.Failed == true;
        if (!await SaveTurnAsync(services, state, sequence, request.Utterance, detected.Intent, answer, pmsFailed))
        {
            var current = await services.Db.Calls.AsNoTracking().SingleAsync(c => c.Id == id, services.Cancellation);
            if (current.Status == CallStatus.Ended)
            {
                return Ended(id);
            }

            // Another turn won, or the Redis state fell behind PostgreSQL: resynchronise, let the client resend.
            await services.Store.SetAsync(ActiveCallState.From(current, state.UnknownStreak));
            return Problems.ConflictProblem($"Another turn of call {id} was handled at the same time; send this one again.");
        }

        await services.Store.SetAsync(state with
        {
            Turns = sequence,
            UnknownStreak = detected.Intent == Intents.Unknown ? state.UnknownStreak + 1 : 0,
            PmsFailed = state.PmsFailed || pmsFailed,
        });
        services.Metrics.TurnHandled(state.HotelId, detected.Intent);
        activity?.SetTag("voicehive.transfer", answer.TransferToFrontDesk);
        return TypedResults.Ok(new TurnResponse(id, sequence, detected.Intent, answer.Reply, answer.TransferToFrontDesk));
    }

    public static async Task<Results<Ok<CallDto>, ProblemHttpResult>> EndCallAsync(
        Guid id, EndCallRequest request, [AsParameters] CallServices services)
    {
        var call = await services.Db.Calls.SingleOrDefaultAsync(c => c.Id == id, services.Cancellation);
        if (call is null)
        {
            return NotFound(id);
        }

        if (call.Status == CallStatus.Ended)
        {
            return Ended(id);
        }

        var result = CallOutcomes.Evaluate(request.Outcome, call.HadError, call.PmsFailed);
        var endedAt = services.Time.GetUtcNow();
        // Only one end wins, whichever replica it reaches; the event is committed with it.
        await using var transaction = await services.Db.Database.BeginTransactionAsync(services.Cancellation);
        var updated = await services.Db.Calls
            .Where(c => c.Id == id && c.Status == CallStatus.Active)
            .ExecuteUpdateAsync(set => set
                .SetProperty(c => c.Status, CallStatus.Ended)
                .SetProperty(c => c.EndedAt, endedAt)
                .SetProperty(c => c.Outcome, result.Outcome)
                .SetProperty(c => c.FailureReason, result.FailureReason)
                .SetProperty(c => c.Succeeded, result.Succeeded), services.Cancellation);
        if (updated == 0)
        {
            return Ended(id);
        }

        var pmsRequests = await services.Db.Database
            .SqlQuery<PmsRequestTiming>($"SELECT duration_seconds AS \"Seconds\", outcome IN ('error', 'timeout') AS \"Failed\" FROM pms_requests WHERE call_id = {id} ORDER BY id")
            .ToListAsync(services.Cancellation);
        await services.Db.Database.ExecuteSqlAsync(Events.Outbox.Insert(Events.Outbox.CallEnded, JsonSerializer.Serialize(new
        {
            callId = id,
            hotelId = call.HotelId,
            startedAt = call.StartedAt,
            endedAt,
            succeeded = result.Succeeded,
            outcome = result.Outcome,
            failureReason = result.FailureReason,
            turns = call.TurnCount,
            pmsSeconds = pmsRequests.Select(r => r.Seconds),
            pmsFailures = pmsRequests.Count(r => r.Failed),
        }, JsonSerializerOptions.Web)), services.Cancellation);
        await transaction.CommitAsync(services.Cancellation);

        try
        {
            await services.Store.RemoveAsync(id);
        }
        catch (StackExchange.Redis.RedisException)
        {
            // The end is committed; the state expires on its own.
            CallsLog.StateNotRemoved(services.Logger, id);
        }

        var duration = endedAt - call.StartedAt;
        services.Metrics.CallEnded(call.HotelId, result, duration);
        CallsLog.CallEnded(services.Logger, id, call.HotelId, result.Succeeded, result.Outcome ?? result.FailureReason!, duration.TotalSeconds);
        call.Status = CallStatus.Ended;
        call.EndedAt = endedAt;
        call.Outcome = result.Outcome;
        call.FailureReason = result.FailureReason;
        call.Succeeded = result.Succeeded;
        return TypedResults.Ok(call.AsDto());
    }

    public static async Task<Results<Ok<CallDto>, ProblemHttpResult>> GetCallAsync(Guid id, [AsParameters] CallServices services)
    {
        var call = await services.Db.Calls.AsNoTracking().Include(c => c.Turns).SingleOrDefaultAsync(c => c.Id == id, services.Cancellation);
        return call is null ? NotFound(id) : TypedResults.Ok(call.AsDto(withTranscript: true));
    }

    /// <summary>Stores the turn, its PMS request and the call's counters in one transaction; false when the call ended or the turn was taken meanwhile.</summary>
    private static async Task<bool> SaveTurnAsync(CallServices services, ActiveCallState state, int sequence, string utterance, string intent,
        TurnAnswer answer, bool pmsFailed)
    {
        using var activity = OrchestratorTelemetry.ActivitySource.StartActivity("call turn store");
        var now = services.Time.GetUtcNow();
        await using var transaction = await services.Db.Database.BeginTransactionAsync(services.Cancellation);
        var updated = await services.Db.Calls
            .Where(c => c.Id == state.CallId && c.Status == CallStatus.Active && c.TurnCount == sequence - 1)
            .ExecuteUpdateAsync(set => set
                .SetProperty(c => c.TurnCount, sequence)
                .SetProperty(c => c.PmsFailed, c => c.PmsFailed || pmsFailed), services.Cancellation);
        if (updated == 0)
        {
            return false;
        }

        services.Db.Turns.Add(new CallTurn
        {
            CallId = state.CallId,
            Sequence = sequence,
            Utterance = utterance,
            Intent = intent,
            Reply = answer.Reply,
            TransferredToFrontDesk = answer.TransferToFrontDesk,
            CreatedAt = now,
        });
        await services.Db.SaveChangesAsync(services.Cancellation);
        if (answer.PmsRequest is { } pms)
        {
            await services.Db.Database.ExecuteSqlAsync($"""
                INSERT INTO pms_requests (call_id, hotel_id, operation, outcome, duration_seconds, occurred_at)
                VALUES ({state.CallId}, {state.HotelId}, {pms.Operation}, {pms.Outcome}, {pms.DurationSeconds}, {now})
                """, services.Cancellation);
            if (pms.Failed)
            {
                await services.Db.Database.ExecuteSqlAsync(Events.Outbox.Insert(Events.Outbox.PmsFailed, JsonSerializer.Serialize(new
                {
                    callId = state.CallId,
                    hotelId = state.HotelId,
                    operation = pms.Operation,
                    outcome = pms.Outcome,
                    durationSeconds = pms.DurationSeconds,
                    at = now,
                }, JsonSerializerOptions.Web)), services.Cancellation);
            }
        }

        await transaction.CommitAsync(services.Cancellation);
        return true;
    }

    private static async Task MarkErrorAsync(CallServices services, Guid id)
    {
        try
        {
            await services.Db.Calls.Where(c => c.Id == id).ExecuteUpdateAsync(set => set.SetProperty(c => c.HadError, true), CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The original error is what the caller and the logs need to see.
        }
    }

    private static ProblemHttpResult NotFound(Guid id) => Problems.NotFoundProblem($"There is no call {id}.");

    private static ProblemHttpResult Ended(Guid id) => Problems.ConflictProblem($"Call {id} has ended.");

    /// <summary>One PMS request of a call, as its <c>call.ended</c> event reports it (read in one query when the call ends).</summary>
    internal sealed class PmsRequestTiming
    {
        public double Seconds { get; init; }

        public bool Failed { get; init; }
    }
}

/// <summary>What the call handlers use; services, not input, so request validation leaves them alone.</summary>
#pragma warning disable ASP0029 // SkipValidation is marked for evaluation in .NET 10; without it validation walks the DbContext's graph.
[Microsoft.Extensions.Validation.SkipValidation]
#pragma warning restore ASP0029
public sealed class CallServices(
    OrchestratorDbContext db,
    ActiveCallStore store,
    IIntentClassifier classifier,
    Conversation conversation,
    CallerPrivacy privacy,
    OrchestratorMetrics metrics,
    TimeProvider time,
    ILogger<CallServices> logger,
    CancellationToken cancellation)
{
    public OrchestratorDbContext Db { get; } = db;
    public ActiveCallStore Store { get; } = store;
    public IIntentClassifier Classifier { get; } = classifier;
    public Conversation Conversation { get; } = conversation;
    public CallerPrivacy Privacy { get; } = privacy;
    public OrchestratorMetrics Metrics { get; } = metrics;
    public TimeProvider Time { get; } = time;
    public ILogger<CallServices> Logger { get; } = logger;
    public CancellationToken Cancellation { get; } = cancellation;
}

internal static partial class CallsLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Call {CallId} started on hotel {HotelId} ({Language})")]
    public static partial void CallStarted(ILogger logger, Guid callId, string hotelId, string language);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information,
        Message = "Call {CallId} on hotel {HotelId} ended (succeeded: {Succeeded}, {Result}) after {DurationSeconds:F0} s")]
    public static partial void CallEnded(ILogger logger, Guid callId, string hotelId, bool succeeded, string result, double durationSeconds);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "The Redis state of ended call {CallId} could not be removed; it will expire")]
    public static partial void StateNotRemoved(ILogger logger, Guid callId);
}
