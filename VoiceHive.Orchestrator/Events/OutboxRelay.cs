using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using StackExchange.Redis;
using VoiceHive.Orchestrator.Infrastructure;
using VoiceHive.ServiceDefaults.Data;

namespace VoiceHive.Orchestrator.Events;

/// <summary>
/// Moves committed outbox messages to the Redis Stream the worker reads. A message is marked dispatched
/// in the same transaction that read it, after Redis accepted it; if Redis is down the transaction rolls
/// back and the message waits in PostgreSQL. Replicas share the work (<c>FOR UPDATE SKIP LOCKED</c>).
/// A crash between XADD and the commit means the message is sent twice: delivery is at least once and
/// the worker's effects are idempotent by message id.
/// </summary>
/// <remarks>
/// <para>An idle poll leaves no trace: whether anything is pending is asked with instrumentation suppressed (one index
/// look-up on the partial index of undispatched messages), and only a pass that has messages to move starts a span,
/// <c>relay outbox</c>, with its transaction, XADDs and update as children.</para>
/// <para>The stream is bounded (<see cref="OutboxOptions.StreamMaxLength"/>, trimmed oldest first by each XADD), and Redis 7's
/// trimming does not look at consumer groups: an entry the worker has not consumed would be lost with the rest. So the
/// relay holds the outbox in PostgreSQL while a batch could push such an entry out (the worker down or far behind, or
/// an old delivery still unacknowledged), says so once, reports <c>event-stream</c> degraded on <c>/health</c>, and
/// carries on when the worker has caught up.</para>
/// </remarks>
public sealed partial class OutboxRelay(
    NpgsqlDataSource dataSource,
    IConnectionMultiplexer redis,
    IOptions<OutboxOptions> options,
    OrchestratorMetrics metrics,
    TimeProvider timeProvider,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly string _stream = options.Value.Stream;

    /// <summary>Set while the relay holds the outbox because relaying more could trim an entry not yet consumed.</summary>
    public StreamHold? Holding { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var relayed = await RelayBatchAsync(stoppingToken);
                backoff = TimeSpan.Zero;
                if (relayed < options.Value.BatchSize)
                {
                    await Task.Delay(options.Value.PollInterval, timeProvider, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is RedisException or NpgsqlException or TimeoutException)
            {
                backoff = TimeSpan.FromMilliseconds(Math.Min(Math.Max(backoff.TotalMilliseconds * 2, 250), 5_000));
                metrics.Error("outbox", DependencyFailures.UnavailableDependency(exception) ?? "dependency");
                LogRelayFailed(logger, exception.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, timeProvider, stoppingToken);
            }
        }
    }

    /// <summary>Relays one batch; returns how many messages it moved.</summary>
    public async Task<int> RelayBatchAsync(CancellationToken cancellationToken)
    {
        using (SuppressInstrumentationScope.Begin())
        {
            await using var pending = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM outbox_messages WHERE dispatched_at IS NULL)");
            if (await pending.ExecuteScalarAsync(cancellationToken) is not true)
            {
                // Another replica may have sent what this one held back.
                Resume();
                return 0;
            }

            if (await TrimWouldLoseAsync() is { } reason)
            {
                Hold(reason);
                return 0;
            }
        }

        Resume();

        using var activity = OrchestratorTelemetry.ActivitySource.StartActivity("relay outbox");
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", _stream);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var batch = new List<(Guid Id, string Type, string Payload, string? TraceParent)>();
        await using (var select = new NpgsqlCommand("""
            SELECT id, type, payload::text, trace_parent FROM outbox_messages
            WHERE dispatched_at IS NULL
            ORDER BY created_at, id
            LIMIT @limit
            FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("limit", options.Value.BatchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                batch.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
            }
        }

        activity?.SetTag("messaging.batch.message_count", batch.Count);
        if (batch.Count == 0)
        {
            // Another replica took them between the look-up and the lock.
            return 0;
        }

        // Sent back to back and awaited together: one round trip for the batch, not one per message. One connection
        // keeps the commands in the order they were sent, so the stream holds the messages in outbox order.
        var database = redis.GetDatabase();
        await Task.WhenAll(batch.Select(message => database.StreamAddAsync(_stream,
            [new("id", message.Id.ToString()), new("type", message.Type), new("payload", message.Payload), new("traceparent", message.TraceParent ?? "")],
            maxLength: options.Value.StreamMaxLength, useApproximateMaxLength: true)));

        await using (var mark = new NpgsqlCommand("UPDATE outbox_messages SET dispatched_at = now() WHERE id = ANY(@ids)", connection, transaction))
        {
            mark.Parameters.AddWithValue("ids", batch.Select(m => m.Id).ToArray());
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        metrics.EventsRelayed(batch.Count);
        return batch.Count;
    }

    /// <summary>
    /// Why relaying a batch now could let the stream's bound trim an entry the worker's group has not consumed, or null.
    /// Two ways: the entries it has not consumed (its lag, the newest entries, plus its pending ones) leave less than two
    /// batches of room; or its oldest pending entry (a delivery being retried while newer ones are acknowledged) is among
    /// the oldest entries the next batches' trim would take. Before the worker has created its group every entry is
    /// unread (it reads the stream from the start). Below the bound this is one XLEN; at it (the stream's steady state, as
    /// consumed entries are kept until trimmed) an XINFO GROUPS too and, with entries pending, an XPENDING and a range of
    /// the entries two batches would trim. Once holding, the relay waits for the unconsumed entries to fall to half the
    /// bound, so that a consumer just slower than the calls does not make it hold and carry on by turns. Replicas decide apart, so the
    /// room kept is two batches, this replica's and one more's (the AppHost runs two): a third and further replicas that
    /// reach the bound at the same moment as two others could each put a batch over it.
    /// </summary>
    private async Task<string?> TrimWouldLoseAsync()
    {
        var bound = options.Value.StreamMaxLength;
        var batch = options.Value.BatchSize;
        var reserve = 2 * batch;
        var room = Holding is null ? bound - reserve : bound / 2;
        var database = redis.GetDatabase();
        var length = await database.StreamLengthAsync(_stream);
        if (length <= room)
        {
            return null;
        }

        var groupName = options.Value.ConsumerGroup;
        var group = (await database.StreamGroupInfoAsync(_stream)).FirstOrDefault(g => g.Name == groupName);
        if (group.Name is null)
        {
            return $"{length} entries, and no consumer group {groupName} yet to read them";
        }

        // Redis leaves a group's lag unknown only after an XDEL in the stream, which VoiceHive never does: then counted as none.
        var unconsumed = (group.Lag ?? 0) + group.PendingMessageCount;
        if (unconsumed > room)
        {
            return $"{unconsumed} entries not yet consumed by {groupName}";
        }

        var trimmed = length + reserve - bound;
        if (trimmed > 0 && group.PendingMessageCount > 0)
        {
            // Null when the worker acknowledged its last pending entry since XINFO answered. The range is about two batches
            // (plus the node Redis's approximate trim may leave); more only once, after the bound was lowered.
            var oldest = (await database.StreamPendingAsync(_stream, groupName)).LowestPendingMessageId;
            var head = oldest.IsNull ? [] : await database.StreamRangeAsync(_stream, maxId: oldest, count: (int)Math.Min(trimmed, int.MaxValue));
            if (head.Length > 0 && head[^1].Id == oldest)
            {
                return $"{groupName}'s oldest unacknowledged entry {oldest} is among the oldest entries the next batches would trim";
            }
        }

        return null;
    }

    private void Hold(string reason)
    {
        if (Holding is null)
        {
            Holding = new StreamHold(reason, timeProvider.GetUtcNow());
            metrics.Error("outbox", "stream_full");
            LogHolding(logger, reason);
        }
        else
        {
            Holding = Holding with { Reason = reason };
        }
    }

    private void Resume()
    {
        if (Holding is { } held)
        {
            Holding = null;
            LogResumed(logger, (timeProvider.GetUtcNow() - held.Since).TotalSeconds);
        }
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Relaying more would let the event stream's bound trim an event not yet consumed ({Reason}): outbox messages wait in PostgreSQL until the worker catches up")]
    private static partial void LogHolding(ILogger logger, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "The event stream has room again; the outbox relay carries on after holding for {Seconds:F0} s")]
    private static partial void LogResumed(ILogger logger, double seconds);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Outbox relay failed ({ExceptionType}); messages stay in PostgreSQL, retrying in {DelayMs} ms")]
    private static partial void LogRelayFailed(ILogger logger, string exceptionType, double delayMs);
}

/// <summary>Section <c>Outbox</c>.</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>The Redis Stream (setting <c>Events:Stream</c>, shared with the worker).</summary>
    public string Stream { get; set; } = "voicehive:events";

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int BatchSize { get; set; } = 200;

    /// <summary>
    /// Approximate bound of the stream (XADD's <c>MAXLEN ~</c>), which trims the oldest entries whether a consumer group
    /// has read them or not; the relay waits rather than let it reach one that is unread (see <see cref="OutboxRelay"/>).
    /// 100 times the lag at which the worker's <c>/health</c> turns degraded and <c>WorkerConsumerLagHigh</c> fires
    /// (1,000). The worker's retention trims consumed entries by age.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(2, int.MaxValue)]
    public int StreamMaxLength { get; set; } = 100_000;

    /// <summary>The worker's consumer group, whose unconsumed entries the bound must not trim (the worker's <c>EventStream.Group</c>).</summary>
    public string ConsumerGroup { get; set; } = "voicehive-worker";
}

/// <summary>The relay holding the outbox since <paramref name="Since"/>, and why.</summary>
public sealed record StreamHold(string Reason, DateTimeOffset Since);

/// <summary>Degraded while the relay holds the outbox: calls are still taken and recorded; their events wait.</summary>
public sealed class EventStreamHealthCheck(OutboxRelay relay) : IHealthCheck
{
    public const string Name = "event-stream";

    public Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(relay.Holding is { } hold
            ? HealthCheckResult.Degraded(
                $"outbox messages wait in PostgreSQL since {hold.Since:u}: relaying more would trim an event not yet consumed ({hold.Reason})")
            : HealthCheckResult.Healthy("the outbox relay has room in the stream"));
}

/// <summary>Writes an event into the outbox inside the caller's transaction, with the current W3C trace context.</summary>
public static class Outbox
{
    public const string CallStarted = "call.started";
    public const string CallEnded = "call.ended";
    public const string PmsFailed = "pms.failed";

    public static FormattableString Insert(string type, string payloadJson) => $"""
        INSERT INTO outbox_messages (id, type, payload, trace_parent)
        VALUES ({Guid.CreateVersion7()}, {type}, {payloadJson}::jsonb, {Activity.Current?.Id})
        """;
}
