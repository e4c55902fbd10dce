using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VoiceHive.Worker.Infrastructure;

/// <summary>The worker's metrics, on <c>/monitoring/metrics</c>.</summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "voicehive.worker";

    private readonly Counter<long> _processed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _deferred;
    private readonly Histogram<int> _batchSize;
    private readonly Counter<long> _batchFallbacks;
    private readonly Counter<long> _replayed;
    private readonly Counter<long> _reactions;
    private readonly Counter<long> _retentionDeleted;
    private long _lag;
    private long _pending;
    private string? _waitingOn;

    public WorkerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _processed = meter.CreateCounter<long>("voicehive.events.processed", "{event}",
            "Events handled, by type and outcome (applied, duplicate, ignored).");
        _failed = meter.CreateCounter<long>("voicehive.events.failed", "{event}", "Event deliveries whose effect failed (retried later).");
        _deadLettered = meter.CreateCounter<long>("voicehive.events.dead_lettered", "{event}", "Events moved to the dead-letter stream.");
        _batchSize = meter.CreateHistogram("voicehive.events.batch_size", "{event}", "Events applied together in one transaction.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [2, 5, 10, 20, 50, 100, 200, 500, 1000] });
        _batchFallbacks = meter.CreateCounter<long>("voicehive.events.batch_fallbacks", "{batch}",
            "Batches that failed to apply together, were rolled back and settled one event at a time, by exception type.");
        _deferred = meter.CreateCounter<long>("voicehive.events.deferred", "{event}",
            "Event deliveries kept and retried later because PostgreSQL or Redis was unavailable; not counted as failures.");
        _replayed = meter.CreateCounter<long>("voicehive.events.replayed", "{event}", "Dead-lettered events put back on the stream by an operator.");
        meter.CreateObservableGauge("voicehive.events.dependency_wait", ObserveDependencyWait, "{consumer}",
            "1 while the event consumer waits for the dependency to answer (it takes no new events meanwhile), else 0.");
        _reactions = meter.CreateCounter<long>("voicehive.alert.reactions", "{reaction}", "Automatic reactions to alerts applied or lifted.");
        _retentionDeleted = meter.CreateCounter<long>("voicehive.retention.deleted", "{row}", "Rows deleted by retention, by table.");
        meter.CreateObservableGauge("voicehive.events.consumer_lag", () => Volatile.Read(ref _lag), "{event}",
            "Events in the stream not yet delivered to the worker group.");
        meter.CreateObservableGauge("voicehive.events.pending", () => Volatile.Read(ref _pending), "{event}",
            "Events delivered to a worker and not yet acknowledged.");
    }

    public void Processed(string type, string outcome) =>
        _processed.Add(1, new TagList { { "type", type }, { "outcome", outcome } });

    public void Failed(string type) => _failed.Add(1, new KeyValuePair<string, object?>("type", type));

    public void DeadLettered(string type) => _deadLettered.Add(1, new KeyValuePair<string, object?>("type", type));

    public void AppliedTogether(int events) => _batchSize.Record(events);

    public void BatchFallback(string errorType) => _batchFallbacks.Add(1, new KeyValuePair<string, object?>("error_type", errorType));

    public void Deferred(string type, string dependency) =>
        _deferred.Add(1, new TagList { { "type", type }, { "dependency", dependency } });

    public void Replayed(string type) => _replayed.Add(1, new KeyValuePair<string, object?>("type", type));

    /// <summary>The dependency the consumer waits for, or null.</summary>
    public void DependencyWait(string? dependency) => Volatile.Write(ref _waitingOn, dependency);

    public void ReactionApplied(string reaction) => _reactions.Add(1, new KeyValuePair<string, object?>("reaction", reaction));

    public void RetentionDeleted(string table, long rows) => _retentionDeleted.Add(rows, new KeyValuePair<string, object?>("table", table));

    public void GroupState(long lag, long pending)
    {
        Volatile.Write(ref _lag, lag);
        Volatile.Write(ref _pending, pending);
    }

    public long Lag => Volatile.Read(ref _lag);

    // Both series always, so that an alert or a panel can tell "not waiting" from "no data".
    private Measurement<int>[] ObserveDependencyWait()
    {
        var waitingOn = Volatile.Read(ref _waitingOn);
        return
        [
            new(waitingOn == ServiceDefaults.Data.DependencyFailures.Postgres ? 1 : 0, new KeyValuePair<string, object?>("dependency", ServiceDefaults.Data.DependencyFailures.Postgres)),
            new(waitingOn == ServiceDefaults.Data.DependencyFailures.Redis ? 1 : 0, new KeyValuePair<string, object?>("dependency", ServiceDefaults.Data.DependencyFailures.Redis)),
        ];
    }
}

/// <summary>The worker's activity source; same name as its meter.</summary>
public static class WorkerTelemetry
{
    public static readonly ActivitySource ActivitySource = new(WorkerMetrics.MeterName);
}
