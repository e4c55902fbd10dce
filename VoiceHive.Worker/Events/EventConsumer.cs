using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using StackExchange.Redis;
using VoiceHive.ServiceDefaults.Data;
using VoiceHive.Worker.Infrastructure;

namespace VoiceHive.Worker.Events;

/// <summary>
/// Reads the event stream as one consumer of the worker group. Each event's effect and its
/// <c>processed_events</c> row commit in one PostgreSQL transaction (a read batch's events in one transaction
/// together, or each alone when that fails), and only then is the entry acknowledged: a crash before the ack
/// redelivers it (to this consumer, or to another after <see cref="ConsumerOptions.ReclaimAfter"/>), and the row
/// makes the second delivery a no-op.
/// </summary>
/// <remarks>
/// <para>
/// Outage or poison. Redis counts deliveries itself: every XREADGROUP or XCLAIM of an entry adds one to its
/// count in the group's pending list, and an entry idle there past <see cref="ConsumerOptions.ReclaimAfter"/> is
/// claimed again (by any consumer) and dead-lettered once the count reaches <see cref="ConsumerOptions.MaxDeliveries"/>.
/// An event that fails because PostgreSQL or Redis cannot be reached must not use up those deliveries, however long
/// the outage. So such an entry never goes back to the pending list to be claimed again: this consumer keeps it, with
/// the rest of its batch, stops taking new work, probes the dependencies with backoff, and retries the same entries
/// in order, in this process, once they answer. Only an entry that fails while the dependencies answer is left
/// pending, to be claimed again (counted) and in the end dead-lettered.
/// </para>
/// <para>
/// Claims are kept. Whatever this consumer has read and not settled (a batch being applied, entries held through an
/// outage) is renewed by a timer beside the loop with XCLAIM … JUSTID, which resets the entries' idle time without
/// counting a delivery, whenever it has gone half of <see cref="KeepInterval"/> untouched; only entries this consumer
/// still owns are renewed (<see cref="EventStream.KeepAsync"/>). So while the process runs and reaches Redis, its
/// entries do not sit idle for <see cref="ConsumerOptions.ReclaimAfter"/>, even when the loop itself is stuck in a
/// statement waiting for a lock, or in a connection attempt to a server that drops packets (Npgsql's connect and
/// command timeouts, 15 s and 30 s, can exceed it), and another replica does not take them over. A statement is
/// bounded by those timeouts, so a stuck batch is not kept for ever.
/// </para>
/// <para>
/// An entry that keeps failing with a connection-class error while both dependencies answer a probe (a statement
/// that times out whatever the server's state) is treated as failing on its own after a few such retries, so a
/// single entry cannot stall the consumer for ever. A consumer that dies while it waits leaves its entries pending
/// with the deliveries they had; the replica that claims them counts one and waits in turn.
/// </para>
/// <para>
/// Traces. An idle poll records nothing: the reads and probes run with instrumentation suppressed. A poll that finds
/// work is one <c>consume events</c> span (claims and dead-lettering are its children); each event keeps its own
/// <c>process {type}</c> consumer span as a child of the producer's trace context it carries (one call's trace holds
/// the orchestrator's request and the worker's processing, with the event's database work under it), linked to the
/// pass it ran in. In a batch applied together an event's span ends when the batch is committed and acknowledged
/// (when the event is settled). A batch that fails leaves an event on the pass and spans with the outcome
/// <c>rolled_back</c> (or <c>unacknowledged</c>, when only the XACK failed) beside the ones that follow.
/// </para>
/// </remarks>
public sealed partial class EventConsumer(
    EventStream stream,
    NpgsqlDataSource dataSource,
    IEnumerable<IEventHandler> handlers,
    WorkerMetrics metrics,
    IOptions<ConsumerOptions> options,
    TimeProvider timeProvider,
    ILogger<EventConsumer> logger) : BackgroundService
{
    /// <summary>Retries an entry gets while the dependencies answer but it still fails as if one were down.</summary>
    private const int MaxRetriesWhileAnswering = 3;

    private readonly Dictionary<string, IEventHandler> _handlers = handlers.ToDictionary(h => h.EventType, StringComparer.Ordinal);

    // Entries read but not settled because a dependency was unavailable; only the consumer loop touches it.
    private readonly List<HeldEntry> _held = [];
    private DateTimeOffset _nextReclaim = DateTimeOffset.MinValue;
    private DependencyWait? _wait;

    // What was read and not settled, published by the loop for the keeper; null when nothing is.
    private volatile Unsettled? _unsettled;

    /// <summary>This process's name in the consumer group.</summary>
    public string ConsumerName { get; } = options.Value.ConsumerName ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>When the loop last talked to Redis successfully (for the health check).</summary>
    public DateTimeOffset LastPoll { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>The dependency the consumer is waiting for, since when, and how many events it holds meanwhile; null when it is not waiting.</summary>
    public DependencyWait? Waiting => Volatile.Read(ref _wait);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LastPoll = timeProvider.GetUtcNow();
        using var keeperStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var keeping = KeepUnsettledAsync(keeperStop.Token);
        try
        {
            await ConsumeAsync(stoppingToken);
        }
        finally
        {
            await keeperStop.CancelAsync();
            await keeping;
        }
    }

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        var groupReady = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!groupReady)
                {
                    using (SuppressInstrumentationScope.Begin())
                    {
                        await stream.EnsureGroupAsync();
                    }

                    groupReady = true;
                }

                var handled = _held.Count > 0 ? await RetryHeldAsync(stoppingToken) : await PollOnceAsync(stoppingToken);
                LastPoll = timeProvider.GetUtcNow();
                if (_held.Count > 0)
                {
                    backoff = NextBackoff(backoff);
                    await Task.Delay(backoff, timeProvider, stoppingToken);
                    continue;
                }

                Resume();
                backoff = TimeSpan.Zero;
                if (handled == 0)
                {
                    await Task.Delay(options.Value.IdleDelay, timeProvider, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RedisServerException exception) when (exception.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                // Redis lost the stream (restarted without persistence): create the group again.
                groupReady = false;
            }
            catch (Exception exception) when (exception is RedisException or NpgsqlException or TimeoutException)
            {
                // A read, claim or probe failed: nothing new was taken, so nothing is held for it.
                if (DependencyFailures.UnavailableDependency(exception) is { } dependency)
                {
                    WaitFor(dependency);
                }

                backoff = NextBackoff(backoff);
                LogPollFailed(logger, exception.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, timeProvider, stoppingToken);
            }
        }
    }

    /// <summary>One round: reclaim what dead consumers left (now and then), then read new entries; returns how many were handled.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<StreamPendingMessageInfo> idle = [];
        IReadOnlyList<StreamEntry> fresh;
        using (SuppressInstrumentationScope.Begin())
        {
            if (timeProvider.GetUtcNow() >= _nextReclaim)
            {
                idle = await stream.IdlePendingAsync(options.Value.ReclaimAfter, options.Value.BatchSize);
                _nextReclaim = timeProvider.GetUtcNow() + options.Value.ReclaimInterval;
            }

            fresh = await stream.ReadNewAsync(ConsumerName, options.Value.BatchSize);
        }

        var readAt = timeProvider.GetTimestamp();

        if (idle.Count == 0 && fresh.Count == 0)
        {
            return 0;
        }

        using var pass = StartPass(idle.Count + fresh.Count);
        var claimed = await ReclaimAsync(idle);
        var entries = claimed.Select(entry => new HeldEntry(entry, redelivered: true)).Concat(fresh.Select(entry => new HeldEntry(entry, redelivered: false))).ToList();
        var settled = 0;
        var unsettled = Publish(entries, readAt);
        try
        {
            settled = await SettleAsync(entries, pass?.Context ?? default, cancellationToken);
            // A dependency is down: the first unsettled entry and the rest of the batch wait in this process, uncounted.
            _held.AddRange(entries.Skip(settled));
        }
        finally
        {
            // Entries left behind by an exception stay pending for a reclaim; only the held ones are kept.
            Publish(_held, unsettled?.Renewed);
        }

        return settled;
    }

    /// <summary>
    /// Settles entries in order: together in one transaction when that succeeds, otherwise one at a time. Returns how
    /// many, from the front, were settled (applied, or failed and left pending); the others wait because a dependency is down.
    /// </summary>
    private async Task<int> SettleAsync(IReadOnlyList<HeldEntry> entries, ActivityContext pass, CancellationToken cancellationToken)
    {
        // An entry delivered before (claimed from a consumer that did not settle it), or retried after failing while the
        // dependencies answered, goes alone: it may be the one that fails, and would roll back every batch it joined.
        var settled = 0;
        while (settled < entries.Count && entries[settled].Alone)
        {
            if (!await ProcessAsync(entries[settled], pass, cancellationToken))
            {
                return settled;
            }

            settled++;
        }

        if (entries.Count - settled > 1)
        {
            var together = entries.Skip(settled).ToList();
            if (await TryApplyTogetherAsync(together, pass, cancellationToken) is not { } failure)
            {
                return entries.Count;
            }

            // An outage: waited out at once, as one event alone would be, rather than met again by the first event alone.
            if (DependencyFailures.UnavailableDependency(failure) is { } dependency && await ShouldWaitAsync(together[0], cancellationToken))
            {
                Defer(together[0], dependency, failure);
                return settled;
            }
        }

        for (; settled < entries.Count; settled++)
        {
            if (!await ProcessAsync(entries[settled], pass, cancellationToken))
            {
                return settled;
            }
        }

        return entries.Count;
    }

    /// <summary>Entries past <see cref="ConsumerOptions.MaxDeliveries"/> go to the dead-letter stream; the others are claimed.</summary>
    private async Task<IReadOnlyList<StreamEntry>> ReclaimAsync(IReadOnlyList<StreamPendingMessageInfo> idle)
    {
        var toClaim = new List<RedisValue>();
        foreach (var pending in idle)
        {
            if (pending.DeliveryCount < options.Value.MaxDeliveries)
            {
                toClaim.Add(pending.MessageId);
                continue;
            }

            var entry = await stream.ReadAsync(pending.MessageId);
            if (entry is not { } found)
            {
                await stream.AcknowledgeAsync(pending.MessageId);
                continue;
            }

            var type = TypeOf(found);
            await stream.DeadLetterAsync(found, $"failed {pending.DeliveryCount} deliveries", pending.DeliveryCount);
            metrics.DeadLettered(type);
            LogDeadLettered(logger, (string)found.Id!, type, pending.DeliveryCount);
        }

        return await stream.ClaimAsync(ConsumerName, options.Value.ReclaimAfter, toClaim);
    }

    /// <summary>While a dependency is down: keep the held entries claimed, and retry them in order once both dependencies answer.</summary>
    private async Task<int> RetryHeldAsync(CancellationToken cancellationToken)
    {
        string? unanswered;
        using (SuppressInstrumentationScope.Begin())
        {
            unanswered = await UnansweredDependencyAsync(cancellationToken);
        }

        if (unanswered is not null)
        {
            WaitFor(unanswered);
            return 0;
        }

        using var pass = StartPass(_held.Count);
        var settled = await SettleAsync([.. _held], pass?.Context ?? default, cancellationToken);
        if (settled > 0)
        {
            _held.RemoveRange(0, settled);
            Publish(_held, _unsettled?.Renewed);
        }

        return settled;
    }

    /// <summary>
    /// Makes <paramref name="entries"/> what the keeper renews: entries read or claimed at <paramref name="touched"/>, or
    /// what remains held of the entries published before, last renewed when they were.
    /// </summary>
    private Unsettled? Publish(List<HeldEntry> entries, long? touched)
    {
        var unsettled = entries.Count == 0 ? null : new Unsettled([.. entries.Select(h => h.Entry.Id)], touched ?? timeProvider.GetTimestamp());
        _unsettled = unsettled;
        return unsettled;
    }

    /// <summary>
    /// Beside the loop: renews this consumer's claim on what it read and has not settled, once that has gone half a
    /// <see cref="KeepInterval"/> without being touched, so that no entry of a living consumer sits idle for
    /// <see cref="ConsumerOptions.ReclaimAfter"/>. A batch applied in milliseconds is never renewed.
    /// </summary>
    private async Task KeepUnsettledAsync(CancellationToken cancellationToken)
    {
        var half = TimeSpan.FromTicks(Math.Max(KeepInterval.Ticks / 2, TimeSpan.TicksPerMillisecond * 10));
        using var timer = new PeriodicTimer(half, timeProvider);
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (_unsettled is not { } unsettled || timeProvider.GetElapsedTime(unsettled.Renewed) < half)
                {
                    continue;
                }

                try
                {
                    using (SuppressInstrumentationScope.Begin())
                    {
                        await stream.KeepAsync(ConsumerName, unsettled.Ids);
                    }

                    unsettled.Renewed = timeProvider.GetTimestamp();
                    failing = false;
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // Tried again at the next tick. Said once a streak: past ReclaimAfter another replica may claim them.
                    if (!failing)
                    {
                        LogKeepFailed(logger, unsettled.Ids.Length, exception.GetType().Name);
                        failing = true;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The fast path: a batch's events in one transaction, then one XACK for all. With a transaction per event the
    /// consumer's pace was one commit's latency, which PostgreSQL's checkpoints lengthen (docs/benchmarks.md, "Profiling");
    /// here the log is flushed once per batch. The events are applied sorted by their handler's lock key (stably), so
    /// that two replicas' batches lock rows in one order. Returns null when all are settled, else what failed: the
    /// transaction was rolled back (or, if only the XACK failed, it stands, its reactions are counted, and the events
    /// will be found applied: "duplicate"), no event is counted, and the caller waits out an outage or settles the
    /// entries one at a time, where a failing event fails alone.
    /// </summary>
    private async Task<Exception?> TryApplyTogetherAsync(IReadOnlyList<HeldEntry> entries, ActivityContext pass, CancellationToken cancellationToken)
    {
        var events = new List<ParsedEvent>(entries.Count);
        var outer = Activity.Current;
        ParsedEvent? current = null;
        var committed = false;
        try
        {
            foreach (var held in entries)
            {
                events.Add(Parse(held.Entry));
            }

            // Before the connection is opened: an entry whose key cannot be read is settled alone, like one that cannot be parsed.
            var ordered = events.OrderBy(e => e.Handler?.LockKey(e.Payload.RootElement) ?? "", StringComparer.Ordinal).ToList();
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                foreach (var parsed in ordered)
                {
                    current = parsed;
                    parsed.Activity = StartProcessActivity(parsed.Entry, parsed.Type, pass);
                    using (BeginEventScope(parsed.Entry, parsed.Type))
                    {
                        (parsed.Outcome, parsed.Reaction) = await ApplyInAsync(parsed, connection, transaction, cancellationToken);
                    }

                    Activity.Current = outer;
                }

                current = null;
                await transaction.CommitAsync(cancellationToken);
                committed = true;
            }

            foreach (var parsed in events)
            {
                CountReaction(parsed.Reaction);
            }

            await stream.AcknowledgeAsync([.. events.Select(e => e.Entry.Id)]);
            foreach (var parsed in events)
            {
                parsed.Activity?.SetTag("voicehive.event.outcome", parsed.Outcome);
                metrics.Processed(parsed.Type, parsed.Outcome!);
            }

            metrics.AppliedTogether(events.Count);
            return null;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // What follows belongs to the pass, not to the event that was applying.
            Activity.Current = outer;
            outer?.AddEvent(new ActivityEvent(committed ? "batch committed, not acknowledged" : "batch rolled back",
                tags: new ActivityTagsCollection { ["error.type"] = exception.GetType().Name, ["messaging.batch.message_count"] = entries.Count }));
            // The entries are settled next, each in a span of its own; these spans say what became of this attempt.
            current?.Activity?.SetStatus(ActivityStatusCode.Error);
            current?.Activity?.SetTag("error.type", exception.GetType().Name);
            foreach (var parsed in events)
            {
                parsed.Activity?.SetTag("voicehive.event.outcome", committed ? "unacknowledged" : "rolled_back");
            }

            metrics.BatchFallback(exception.GetType().Name);
            LogNotAppliedTogether(logger, entries.Count, exception.GetType().Name);
            return exception;
        }
        finally
        {
            foreach (var parsed in events)
            {
                parsed.Dispose();
            }

            // Ending a span makes the one current when it started current again: the pass, as before the batch.
            Activity.Current = outer;
        }
    }

    /// <summary>Applies and acknowledges one entry; false when it could not be settled because a dependency is unavailable (it is then held, uncounted).</summary>
    private async Task<bool> ProcessAsync(HeldEntry held, ActivityContext pass, CancellationToken cancellationToken)
    {
        var entry = held.Entry;
        var type = TypeOf(entry);
        using var activity = StartProcessActivity(entry, type, pass);
        using var scope = BeginEventScope(entry, type);
        try
        {
            var outcome = await ApplyAsync(entry, cancellationToken);
            await stream.AcknowledgeAsync(entry.Id);
            metrics.Processed(type, outcome);
            activity?.SetTag("voicehive.event.outcome", outcome);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            activity?.SetStatus(ActivityStatusCode.Error);
            activity?.SetTag("error.type", exception.GetType().Name);
            if (DependencyFailures.UnavailableDependency(exception) is { } dependency && await ShouldWaitAsync(held, cancellationToken))
            {
                Defer(held, dependency, exception);
                return false;
            }

            // Left pending: claimed again after ReclaimAfter (a counted delivery), dead-lettered after MaxDeliveries.
            metrics.Failed(type);
            LogEventFailed(logger, (string)entry.Id!, type, exception.GetType().Name, EventFailure.Describe(exception));
            return true;
        }
    }

    /// <summary>The entry (and those after it) wait in this process for <paramref name="dependency"/>, uncounted.</summary>
    private void Defer(HeldEntry held, string dependency, Exception exception)
    {
        var type = TypeOf(held.Entry);
        WaitFor(dependency);
        metrics.Deferred(type, dependency);
        LogEventDeferred(logger, (string)held.Entry.Id!, type, dependency, exception.GetType().Name);
    }

    /// <summary>An outage is waited out; a dependency that answers while the entry fails as if it did not gets a few retries, then it counts.</summary>
    private async Task<bool> ShouldWaitAsync(HeldEntry held, CancellationToken cancellationToken)
    {
        using (SuppressInstrumentationScope.Begin())
        {
            if (await UnansweredDependencyAsync(cancellationToken) is not null)
            {
                return true;
            }
        }

        return ++held.RetriesWhileAnswering <= MaxRetriesWhileAnswering;
    }

    /// <summary>PostgreSQL (a query) and Redis (PING), in that order: the first that does not answer, or null.</summary>
    private async Task<string?> UnansweredDependencyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception exception) when (DependencyFailures.UnavailableDependency(exception) is not null)
        {
            return DependencyFailures.Postgres;
        }

        try
        {
            await stream.PingAsync();
        }
        catch (Exception exception) when (DependencyFailures.UnavailableDependency(exception) is not null)
        {
            return DependencyFailures.Redis;
        }

        return null;
    }

    /// <summary>One event's effect and processed-event row in a transaction of its own.</summary>
    private async Task<string> ApplyAsync(StreamEntry entry, CancellationToken cancellationToken)
    {
        using var parsed = Parse(entry);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (outcome, reaction) = await ApplyInAsync(parsed, connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        CountReaction(reaction);
        return outcome;
    }

    /// <summary>The processed-event row, then the effect; "duplicate" (and no effect) when the row was there: the event was applied before.</summary>
    private static async Task<(string Outcome, string? Reaction)> ApplyInAsync(ParsedEvent parsed, NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken)
    {
        await using (var claim = new NpgsqlCommand("""
            INSERT INTO processed_events (event_id, handler) VALUES (@id, @handler) ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            claim.Parameters.AddWithValue("id", parsed.EventId);
            claim.Parameters.AddWithValue("handler", parsed.Type);
            if (await claim.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return ("duplicate", null);
            }
        }

        return parsed.Handler is null
            ? ("ignored", null)
            : ("applied", await parsed.Handler.HandleAsync(parsed.Payload.RootElement, connection, transaction, cancellationToken));
    }

    /// <summary>The entry's event id, payload and handler; throws for an entry that cannot be applied.</summary>
    private ParsedEvent Parse(StreamEntry entry)
    {
        if (!Guid.TryParse((string?)entry["id"], out var eventId))
        {
            throw new InvalidEventException("the entry has no event id");
        }

        var type = TypeOf(entry);
        var payload = JsonDocument.Parse((string?)entry["payload"] ?? throw new InvalidEventException("the entry has no payload"));
        return new ParsedEvent(entry, type, eventId, payload, _handlers.GetValueOrDefault(type));
    }

    private void CountReaction(string? reaction)
    {
        if (reaction is not null)
        {
            metrics.ReactionApplied(reaction);
        }
    }

    /// <summary>The event's consumer span, a child of the producer's trace context the entry carries, linked to the pass.</summary>
    private Activity? StartProcessActivity(StreamEntry entry, string type, ActivityContext pass)
    {
        ActivityContext.TryParse((string?)entry["traceparent"], null, isRemote: true, out var producer);
        var activity = WorkerTelemetry.ActivitySource.StartActivity($"process {type}", ActivityKind.Consumer, producer,
            links: pass == default ? null : [new ActivityLink(pass)]);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", stream.StreamKey);
        activity?.SetTag("messaging.message.id", (string?)entry.Id);
        return activity;
    }

    private IDisposable? BeginEventScope(StreamEntry entry, string type) =>
        logger.BeginScope(new Dictionary<string, object> { ["EventId"] = (string?)entry["id"] ?? "", ["StreamId"] = (string?)entry.Id ?? "", ["EventType"] = type });

    private static Activity? StartPass(int entries)
    {
        var pass = WorkerTelemetry.ActivitySource.StartActivity("consume events", ActivityKind.Consumer);
        pass?.SetTag("messaging.system", "redis");
        pass?.SetTag("messaging.batch.message_count", entries);
        return pass;
    }

    private static string TypeOf(StreamEntry entry) => (string?)entry["type"] ?? "unknown";

    /// <summary>The longest an unsettled entry goes untouched: well under <see cref="ConsumerOptions.ReclaimAfter"/>, when another replica would claim it (and count it).</summary>
    private TimeSpan KeepInterval => TimeSpan.FromTicks(Math.Min(options.Value.ReclaimInterval.Ticks, options.Value.ReclaimAfter.Ticks / 3));

    private static TimeSpan NextBackoff(TimeSpan backoff) => TimeSpan.FromMilliseconds(Math.Min(Math.Max(backoff.TotalMilliseconds * 2, 250), 5_000));

    private void WaitFor(string dependency)
    {
        var current = Volatile.Read(ref _wait);
        if (current?.Dependency != dependency || current.Held != _held.Count)
        {
            if (current is null)
            {
                LogWaiting(logger, dependency);
            }

            Volatile.Write(ref _wait, new DependencyWait(dependency, current?.Since ?? timeProvider.GetUtcNow(), _held.Count));
            metrics.DependencyWait(dependency);
        }
    }

    private void Resume()
    {
        if (Volatile.Read(ref _wait) is { } wait)
        {
            Volatile.Write(ref _wait, null);
            metrics.DependencyWait(null);
            LogResumed(logger, wait.Dependency, (timeProvider.GetUtcNow() - wait.Since).TotalSeconds);
        }
    }

    /// <summary>Stream ids read and not settled, and when their claim was last renewed (a <see cref="TimeProvider"/> timestamp).</summary>
    private sealed class Unsettled(RedisValue[] ids, long renewed)
    {
        private long _renewed = renewed;

        public RedisValue[] Ids { get; } = ids;

        public long Renewed
        {
            get => Volatile.Read(ref _renewed);
            set => Volatile.Write(ref _renewed, value);
        }
    }

    private sealed class HeldEntry(StreamEntry entry, bool redelivered)
    {
        public StreamEntry Entry { get; } = entry;

        public int RetriesWhileAnswering { get; set; }

        /// <summary>Applied in a transaction of its own, never in a batch (see <see cref="SettleAsync"/>).</summary>
        public bool Alone => redelivered || RetriesWhileAnswering > 0;
    }

    /// <summary>An entry read for applying; in a batch it also carries its span (ended when the batch settles) and its result.</summary>
    private sealed class ParsedEvent(StreamEntry entry, string type, Guid eventId, JsonDocument payload, IEventHandler? handler) : IDisposable
    {
        public StreamEntry Entry { get; } = entry;

        public string Type { get; } = type;

        public Guid EventId { get; } = eventId;

        public JsonDocument Payload { get; } = payload;

        public IEventHandler? Handler { get; } = handler;

        public Activity? Activity { get; set; }

        public string? Outcome { get; set; }

        public string? Reaction { get; set; }

        public void Dispose()
        {
            Activity?.Dispose();
            Payload.Dispose();
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Reading the event stream failed ({ExceptionType}); retrying in {DelayMs} ms")]
    private static partial void LogPollFailed(ILogger logger, string exceptionType, double delayMs);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Event {StreamId} ({EventType}) failed with {ExceptionType} ({Reason}); it will be retried")]
    private static partial void LogEventFailed(ILogger logger, string streamId, string eventType, string exceptionType, string reason);

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Event {StreamId} ({EventType}) failed {Deliveries} deliveries and was moved to the dead-letter stream")]
    private static partial void LogDeadLettered(ILogger logger, string streamId, string eventType, long deliveries);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Event {StreamId} ({EventType}) could not be applied because {Dependency} is unavailable ({ExceptionType}); it is kept and retried when it answers, not counted as a failed delivery")]
    private static partial void LogEventDeferred(ILogger logger, string streamId, string eventType, string dependency, string exceptionType);

    [LoggerMessage(EventId = 406, Level = LogLevel.Debug, Message = "A batch of {Count} events could not be applied together ({ExceptionType}); it was rolled back, and its events are settled one at a time")]
    private static partial void LogNotAppliedTogether(ILogger logger, int count, string exceptionType);

    [LoggerMessage(EventId = 407, Level = LogLevel.Warning, Message = "Renewing the claim on {Count} unsettled events failed ({ExceptionType}); retrying, and past the reclaim period another replica may take them over")]
    private static partial void LogKeepFailed(ILogger logger, int count, string exceptionType);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Waiting for {Dependency}: no new events are taken until it answers")]
    private static partial void LogWaiting(ILogger logger, string dependency);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "{Dependency} answers again after {Seconds:F0} s; the consumer carries on")]
    private static partial void LogResumed(ILogger logger, string dependency, double seconds);
}

/// <summary>The consumer waits for <paramref name="Dependency"/> since <paramref name="Since"/>, holding <paramref name="Held"/> events.</summary>
public sealed record DependencyWait(string Dependency, DateTimeOffset Since, int Held);

/// <summary>An entry that can never be applied (no id, no payload): it fails until it is dead-lettered.</summary>
public sealed class InvalidEventException(string message) : Exception(message);

/// <summary>
/// What the log says about a failed event beyond the exception's type: only what names the fault without quoting data. A
/// library's message can quote the value it refused (PostgreSQL's "invalid input syntax for type uuid: …" does), and an
/// event's payload is what a caller or an alert said.
/// </summary>
internal static class EventFailure
{
    public static string Describe(Exception exception) => exception switch
    {
        // Written here, about the entry's shape.
        InvalidEventException => exception.Message,
        // The error's code and the constraint or column it concerns; not the message text, which can quote a value.
        PostgresException postgres => PostgresErrors.Describe(postgres),
        // The path of the element that broke, not the text around it.
        JsonException json => $"invalid JSON{Named(" at ", json.Path)}",
        _ => "its message is not logged, as it could quote the event",
    };

    private static string Named(string prefix, string? name) => string.IsNullOrEmpty(name) ? "" : prefix + name;
}

/// <summary>The effect of one event type, applied inside the transaction that records the event as processed.</summary>
public interface IEventHandler
{
    string EventType { get; }

    /// <summary>
    /// Names the rows the effect writes; events whose effects touch the same rows must share it. A batch's events are
    /// applied in one transaction sorted by this key (stably: events with one key keep their stream order), so that two
    /// replicas' batches take their row locks in one order and do not deadlock.
    /// </summary>
    string LockKey(JsonElement payload);

    /// <summary>Applies the effect; returns the automatic reaction it applied, counted once the transaction commits, or null.</summary>
    Task<string?> HandleAsync(JsonElement payload, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);
}

/// <summary>Section <c>Consumer</c>.</summary>
public sealed class ConsumerOptions
{
    public const string Section = "Consumer";

    public string? ConsumerName { get; set; }

    [System.ComponentModel.DataAnnotations.Range(1, 1000)]
    public int BatchSize { get; set; } = 50;

    public TimeSpan IdleDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long an entry may sit unacknowledged with a consumer before another takes it over.</summary>
    public TimeSpan ReclaimAfter { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan ReclaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    [System.ComponentModel.DataAnnotations.Range(1, 100)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Above this many undelivered entries, /health reports the worker degraded.</summary>
    public long LagDegradedThreshold { get; set; } = 1_000;
}
