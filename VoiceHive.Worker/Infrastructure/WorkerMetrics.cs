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
    private readonly Counter<long> _reactions;
    private readonly Counter<long> _retentionDeleted;
    private long _lag;
    private long _pending;

    public WorkerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _processed = meter.CreateCounter<long>("voicehive.events.processed", "{event}",
            "Events handled, by type and outcome (applied, duplicate, ignored).");
        _failed = meter.CreateCounter<long>("voicehive.events.failed", "{event}", "Event deliveries whose effect failed (retried later).");
        _deadLettered = meter.CreateCounter<long>("voicehive.events.dead_lettered", "{event}", "Events moved to the dead-letter stream.");
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

    public void ReactionApplied(string reaction) => _reactions.Add(1, new KeyValuePair<string, object?>("reaction", reaction));

    public void RetentionDeleted(string table, long rows) => _retentionDeleted.Add(rows, new KeyValuePair<string, object?>("table", table));

    public void GroupState(long lag, long pending)
    {
        Volatile.Write(ref _lag, lag);
        Volatile.Write(ref _pending, pending);
    }

    public long Lag => Volatile.Read(ref _lag);
}

/// <summary>The worker's activity source; same name as its meter.</summary>
public static class WorkerTelemetry
{
    public static readonly ActivitySource ActivitySource = new(WorkerMetrics.MeterName);
}
