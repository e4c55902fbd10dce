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
/// trimming does not look at consumer groups: an entry no group has consumed would be lost with the rest. So the relay
/// holds the outbox in PostgreSQL while a batch could push such an entry out (the worker down or far behind), says so
/// once, reports <c>event-stream</c> degraded on <c>/health</c>, and carries on when the group has caught up.</para>
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

    /// <summary>Set while the relay holds the outbox because the stream is full of entries not yet consumed.</summary>
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
                return 0;
            }

            if (await UnconsumedBeyondBoundAsync() is { } unconsumed)
            {
                Hold(unconsumed);
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
    /// How many of the stream's entries a consumer group has not consumed, when that many leave no room for a batch under
    /// the stream's bound (so that the batch's XADDs could trim one); null when there is room. Every group counts: its lag
    /// (entries not yet delivered) plus its pending entries; with no group yet, every entry is unconsumed. A group whose
    /// lag Redis cannot tell (after an XDEL in the stream, which VoiceHive never does) is not held for. The margin is one
    /// batch per relay: replicas that look at the same moment could together add more. Once holding, the relay waits for
    /// the unconsumed entries to fall to half the bound, so that a consumer just slower than the calls does not make it
    /// hold and carry on by turns.
    /// </summary>
    private async Task<long?> UnconsumedBeyondBoundAsync()
    {
        var room = Holding is null ? options.Value.StreamMaxLength - options.Value.BatchSize : options.Value.StreamMaxLength / 2;
        var database = redis.GetDatabase();
        var length = await database.StreamLengthAsync(_stream);
        if (length <= room)
        {
            // No trim can happen: the common case, one XLEN.
            return null;
        }

        var groups = await database.StreamGroupInfoAsync(_stream);
        var unconsumed = groups.Length == 0 ? length : groups.Max(group => group.Lag is { } lag ? lag + group.PendingMessageCount : 0);
        return unconsumed > room ? unconsumed : null;
    }

    private void Hold(long unconsumed)
    {
        if (Holding is null)
        {
            Holding = new StreamHold(unconsumed, timeProvider.GetUtcNow());
            metrics.Error("outbox", "stream_full");
            LogHolding(logger, unconsumed, options.Value.StreamMaxLength);
        }
        else
        {
            Holding = Holding with { Unconsumed = unconsumed };
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

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "The event stream holds {Unconsumed} entries not yet consumed, within a batch of its bound of {Bound}: outbox messages wait in PostgreSQL until the worker has consumed half of them")]
    private static partial void LogHolding(ILogger logger, long unconsumed, int bound);

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
}

/// <summary>The relay holding the outbox since <paramref name="Since"/>, with <paramref name="Unconsumed"/> entries in the stream unconsumed.</summary>
public sealed record StreamHold(long Unconsumed, DateTimeOffset Since);

/// <summary>Degraded while the relay holds the outbox: calls are still taken and recorded; their events wait.</summary>
public sealed class EventStreamHealthCheck(OutboxRelay relay) : IHealthCheck
{
    public const string Name = "event-stream";

    public Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(relay.Holding is { } hold
            ? HealthCheckResult.Degraded(
                $"the stream is full of events not yet consumed ({hold.Unconsumed}); outbox messages wait in PostgreSQL since {hold.Since:u}")
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
