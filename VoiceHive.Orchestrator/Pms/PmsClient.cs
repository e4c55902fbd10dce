using System.Diagnostics;
using Microsoft.Extensions.Options;
using VoiceHive.Orchestrator.Infrastructure;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// Every PMS request goes through here: bounded by <see cref="PmsOptions.Timeout"/>, timed into
/// <c>voicehive.pms.response</c>, traced as a client span, and never thrown at the caller: a failure
/// comes back as a result with its error type, counted in <c>voicehive.errors</c>.
/// </summary>
public sealed partial class PmsClient(
    IPropertyManagementSystem pms,
    OrchestratorMetrics metrics,
    IOptions<PmsOptions> options,
    DegradedHotels degraded,
    TimeProvider timeProvider,
    ILogger<PmsClient> logger)
{
    public Task<PmsCall<Reservation?>> FindReservationAsync(string hotelId, string confirmationCode, CancellationToken cancellationToken) =>
        CallAsync(hotelId, PmsOperations.ReservationLookup,
            token => pms.FindReservationAsync(hotelId, confirmationCode, token),
            reservation => reservation is null ? "not_found" : "success",
            cancellationToken);

    public Task<PmsCall<IReadOnlyList<RoomAvailability>>> GetAvailabilityAsync(string hotelId, DateOnly night, CancellationToken cancellationToken) =>
        CallAsync(hotelId, PmsOperations.Availability,
            token => pms.GetAvailabilityAsync(hotelId, night, token),
            _ => "success",
            cancellationToken);

    private async Task<PmsCall<T>> CallAsync<T>(string hotelId, string operation, Func<CancellationToken, Task<T>> call,
        Func<T, string> outcomeOf, CancellationToken cancellationToken)
    {
        using var activity = OrchestratorTelemetry.ActivitySource.StartActivity($"pms {operation}", ActivityKind.Client);
        activity?.SetTag("voicehive.hotel_id", hotelId);
        activity?.SetTag("voicehive.pms.operation", operation);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var isDegraded = degraded.IsDegraded(hotelId);
        activity?.SetTag("voicehive.pms.degraded", isDegraded);
        timeout.CancelAfter(isDegraded ? options.Value.DegradedTimeout : options.Value.Timeout);
        var started = timeProvider.GetTimestamp();
        string? errorType;
        try
        {
            var value = await call(timeout.Token);
            var outcome = outcomeOf(value);
            var elapsed = timeProvider.GetElapsedTime(started);
            metrics.PmsResponded(hotelId, operation, outcome, elapsed);
            activity?.SetTag("voicehive.pms.outcome", outcome);
            return new PmsCall<T>(operation, outcome, elapsed, null, value);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            errorType = "timeout";
        }
        catch (PmsUnavailableException exception)
        {
            errorType = exception.ErrorType;
        }

        var failedAfter = timeProvider.GetElapsedTime(started);
        var failure = errorType == "timeout" ? "timeout" : "error";
        metrics.PmsResponded(hotelId, operation, failure, failedAfter);
        metrics.Error("pms", errorType);
        activity?.SetTag("voicehive.pms.outcome", failure);
        activity?.SetTag("error.type", errorType);
        activity?.SetStatus(ActivityStatusCode.Error);
        LogPmsFailure(logger, operation, hotelId, errorType, failedAfter.TotalMilliseconds);
        return new PmsCall<T>(operation, failure, failedAfter, errorType, default);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "PMS {Operation} for hotel {HotelId} failed ({ErrorType}) after {ElapsedMs:F0} ms; the caller is offered the front desk")]
    private static partial void LogPmsFailure(ILogger logger, string operation, string hotelId, string errorType, double elapsedMs);
}

/// <summary>One PMS request's result: its outcome label, how long it took, and the value or the error type.</summary>
public sealed record PmsCall<T>(string Operation, string Outcome, TimeSpan Elapsed, string? ErrorType, T? Value)
{
    public bool Failed => ErrorType is not null;
}
