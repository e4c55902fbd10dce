using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// The orchestrator's business metrics. The first four instruments are the ones the VoiceHive
/// guide's alert rules query (<c>voicehive_call_success_total</c>, <c>voicehive_call_failures_total</c>,
/// <c>voicehive_pms_response_seconds</c>, <c>voicehive_errors_total</c>); their names and labels are a
/// contract. Labels are low-cardinality: never a phone number, call id or free text.
/// </summary>
/// <remarks>
/// The guide's CallSuccessRateLow divides <c>rate(success)</c> by <c>rate(success) + rate(failures)</c> with no
/// aggregation, and PromQL adds two series only where their labels are equal. So the two counters carry the same
/// labels (<c>hotel_id</c> alone), and both exist for every hotel from the replica's start, at 0: otherwise a hotel whose
/// calls all fail has no success series, the division has nothing to divide, and the SLA alert stays silent through the
/// worst outage (and a call that ends on a replica which had not seen its hotel would be lost to <c>rate()</c>). Why a
/// call succeeded or failed is <c>voicehive.calls.ended</c>'s <c>outcome</c> or <c>reason</c>.
/// </remarks>
public sealed class OrchestratorMetrics : IApiErrorCounter
{
    public const string MeterName = "voicehive.orchestrator";

    private readonly Counter<long> _callSuccess;
    private readonly Counter<long> _callFailures;
    private readonly Counter<long> _callsEnded;
    private readonly Histogram<double> _pmsResponse;
    private readonly Counter<long> _errors;
    private readonly UpDownCounter<long> _activeCalls;
    private readonly Histogram<double> _callDuration;
    private readonly Counter<long> _turns;
    private readonly Counter<long> _alertsReceived;
    private readonly Counter<long> _eventsRelayed;
    private readonly Counter<long> _fallbackAnswers;
    private Func<IReadOnlyCollection<string>>? _degradedHotels;

    public OrchestratorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _callSuccess = meter.CreateCounter<long>("voicehive.call.success", "{call}",
            "Calls the system handled as the caller needed, by hotel.");
        _callFailures = meter.CreateCounter<long>("voicehive.call.failures", "{call}",
            "Calls the system let down, by hotel.");
        _callsEnded = meter.CreateCounter<long>("voicehive.calls.ended", "{call}",
            "Ended calls by hotel: those that succeeded by outcome (resolved, transferred, abandoned), those that failed by reason (dropped, system_error, pms_unavailable).");
        _pmsResponse = meter.CreateHistogram("voicehive.pms.response", "s",
            "Time the property-management system took to answer, by operation and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10] });
        _errors = meter.CreateCounter<long>("voicehive.errors", "{error}",
            "Errors by the component they happened in and their type.");
        _activeCalls = meter.CreateUpDownCounter<long>("voicehive.calls.active", "{call}",
            "Calls in progress that this replica started or ended (sum over replicas).");
        _callDuration = meter.CreateHistogram("voicehive.call.duration", "s", "Duration of ended calls.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [10, 30, 60, 120, 180, 300, 600, 1200, 1800] });
        _turns = meter.CreateCounter<long>("voicehive.call.turns", "{turn}", "Caller utterances handled, by detected intent.");
        _alertsReceived = meter.CreateCounter<long>("voicehive.alerts.received", "{alert}",
            "Alert notifications received from Alertmanager, by alert name, severity and status, after de-duplication.");
        _eventsRelayed = meter.CreateCounter<long>("voicehive.events.relayed", "{event}",
            "Outbox messages moved from PostgreSQL to the Redis event stream.");
        _fallbackAnswers = meter.CreateCounter<long>("voicehive.pms.fallback_answers", "{answer}",
            "Turns answered from last known PMS data because the PMS failed while the hotel was in degraded mode.");
        meter.CreateObservableGauge("voicehive.pms.degraded_mode",
            () => (_degradedHotels?.Invoke() ?? []).Select(hotel => new Measurement<int>(1, new KeyValuePair<string, object?>("hotel_id", hotel))),
            "{hotel}", "1 for each hotel whose PMS access is in degraded mode because a PMS alert is firing.");
    }

    public void EventsRelayed(int count) => _eventsRelayed.Add(count);

    public void FallbackAnswer(string hotelId, string operation) =>
        _fallbackAnswers.Add(1, new KeyValuePair<string, object?>("hotel_id", hotelId), new KeyValuePair<string, object?>("operation", operation));

    /// <summary>Where <c>voicehive.pms.degraded_mode</c> reads the degraded hotels from.</summary>
    public void ObserveDegradedHotels(Func<IReadOnlyCollection<string>> hotels) => _degradedHotels = hotels;

    public void CallStarted(string hotelId)
    {
        _activeCalls.Add(1, new KeyValuePair<string, object?>("hotel_id", hotelId));
        StartCallCounters(hotelId);
    }

    /// <summary>
    /// Both series of the SLA's ratio at 0 for <paramref name="hotelId"/> (see the remarks above): for every hotel when the
    /// replica starts (<see cref="CallCounterBaseline"/>), and again at each call's start for a hotel added since. A
    /// counter whose series first appears at 1 loses that call to <c>rate()</c>.
    /// </summary>
    public void StartCallCounters(string hotelId)
    {
        var hotel = new KeyValuePair<string, object?>("hotel_id", hotelId);
        _callSuccess.Add(0, hotel);
        _callFailures.Add(0, hotel);
    }

    public void CallEnded(string hotelId, CallResult result, TimeSpan duration)
    {
        var hotel = new KeyValuePair<string, object?>("hotel_id", hotelId);
        _activeCalls.Add(-1, hotel);
        _callDuration.Record(duration.TotalSeconds, hotel);
        if (result.Succeeded)
        {
            _callSuccess.Add(1, hotel);
            _callsEnded.Add(1, hotel, new KeyValuePair<string, object?>("outcome", result.Outcome));
        }
        else
        {
            _callFailures.Add(1, hotel);
            _callsEnded.Add(1, hotel, new KeyValuePair<string, object?>("reason", result.FailureReason));
        }
    }

    public void TurnHandled(string hotelId, string intent) =>
        _turns.Add(1, new KeyValuePair<string, object?>("hotel_id", hotelId), new KeyValuePair<string, object?>("intent", intent));

    public void PmsResponded(string hotelId, string operation, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "hotel_id", hotelId },
            { "operation", operation },
            { "outcome", outcome },
        };
        _pmsResponse.Record(elapsed.TotalSeconds, tags);
    }

    public void Error(string component, string errorType) =>
        _errors.Add(1, new KeyValuePair<string, object?>("component", component), new KeyValuePair<string, object?>("error_type", errorType));

    public void AlertReceived(string alertName, string severity, string status)
    {
        var tags = new TagList
        {
            { "alertname", alertName },
            { "severity", severity },
            { "status", status },
        };
        _alertsReceived.Add(1, tags);
    }
}

/// <summary>How a call ended for the SLA: a success with its outcome, or a failure with its reason.</summary>
public sealed record CallResult(bool Succeeded, string? Outcome, string? FailureReason)
{
    public static CallResult Success(string outcome) => new(true, outcome, null);

    public static CallResult Failure(string reason) => new(false, null, reason);
}
