using System.Diagnostics;
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
/// An idle poll leaves no trace: whether anything is pending is asked with instrumentation suppressed (one index
/// look-up on the partial index of undispatched messages), and only a pass that has messages to move starts a span,
/// <c>relay outbox</c>, with its transaction, XADDs and update as children.
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
        }

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
    /// Approximate bound of the stream. Entries beyond it are trimmed whether the worker has read them or not (Redis 7's
    /// MAXLEN does not look at consumer groups), so it must hold more than the worker can fall behind: 100 times the lag
    /// at which its <c>/health</c> turns degraded and <c>WorkerConsumerLagHigh</c> fires (1,000). The worker's retention
    /// trims read entries by age.
    /// </summary>
    public int StreamMaxLength { get; set; } = 100_000;
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
