using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using VoiceHive.Worker.Infrastructure;

namespace VoiceHive.Worker.Events;

/// <summary>
/// Reads the event stream as one consumer of the worker group. Each event's effect and its
/// <c>processed_events</c> row commit in one PostgreSQL transaction, and only then is the entry
/// acknowledged: a crash before the ack redelivers it (to this consumer, or to another after
/// <see cref="ConsumerOptions.ReclaimAfter"/>), and the row makes the second delivery a no-op.
/// An entry that fails <see cref="ConsumerOptions.MaxDeliveries"/> times goes to the dead-letter stream.
/// </summary>
public sealed partial class EventConsumer(
    EventStream stream,
    NpgsqlDataSource dataSource,
    IEnumerable<IEventHandler> handlers,
    WorkerMetrics metrics,
    IOptions<ConsumerOptions> options,
    TimeProvider timeProvider,
    ILogger<EventConsumer> logger) : BackgroundService
{
    private readonly Dictionary<string, IEventHandler> _handlers = handlers.ToDictionary(h => h.EventType, StringComparer.Ordinal);
    private DateTimeOffset _nextReclaim = DateTimeOffset.MinValue;

    /// <summary>This process's name in the consumer group.</summary>
    public string ConsumerName { get; } = options.Value.ConsumerName ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>When the loop last talked to Redis successfully (for the health check).</summary>
    public DateTimeOffset LastPoll { get; private set; } = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        var groupReady = false;
        LastPoll = timeProvider.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!groupReady)
                {
                    await stream.EnsureGroupAsync();
                    groupReady = true;
                }

                var handled = await PollOnceAsync(stoppingToken);
                LastPoll = timeProvider.GetUtcNow();
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
                backoff = TimeSpan.FromMilliseconds(Math.Min(Math.Max(backoff.TotalMilliseconds * 2, 250), 5_000));
                LogPollFailed(logger, exception.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, timeProvider, stoppingToken);
            }
        }
    }

    /// <summary>One round: reclaim what dead consumers left (now and then), then read new entries; returns how many were handled.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken)
    {
        var handled = 0;
        if (timeProvider.GetUtcNow() >= _nextReclaim)
        {
            handled += await ReclaimAsync(cancellationToken);
            _nextReclaim = timeProvider.GetUtcNow() + options.Value.ReclaimInterval;
        }

        foreach (var entry in await stream.ReadNewAsync(ConsumerName, options.Value.BatchSize))
        {
            await ProcessAsync(entry, cancellationToken);
            handled++;
        }

        return handled;
    }

    private async Task<int> ReclaimAsync(CancellationToken cancellationToken)
    {
        var idle = await stream.IdlePendingAsync(options.Value.ReclaimAfter, options.Value.BatchSize);
        var toClaim = new List<string>();
        foreach (var (id, deliveries) in idle)
        {
            if (deliveries < options.Value.MaxDeliveries)
            {
                toClaim.Add(id);
                continue;
            }

            var entry = await stream.ReadAsync(id);
            if (entry is null)
            {
                await stream.AcknowledgeAsync(id);
                continue;
            }

            var type = entry.Fields.GetValueOrDefault("type") ?? "unknown";
            await stream.DeadLetterAsync(entry, $"failed {deliveries} deliveries", deliveries);
            metrics.DeadLettered(type);
            LogDeadLettered(logger, entry.Id, type, deliveries);
        }

        var claimed = await stream.ClaimAsync(ConsumerName, options.Value.ReclaimAfter, toClaim);
        foreach (var entry in claimed)
        {
            await ProcessAsync(entry, cancellationToken);
        }

        return claimed.Count;
    }

    private async Task ProcessAsync(StreamEntry entry, CancellationToken cancellationToken)
    {
        var type = entry.Fields.GetValueOrDefault("type") ?? "unknown";
        ActivityContext.TryParse(entry.Fields.GetValueOrDefault("traceparent"), null, isRemote: true, out var parent);
        using var activity = WorkerTelemetry.ActivitySource.StartActivity($"process {type}", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", stream.StreamKey);
        activity?.SetTag("messaging.message.id", entry.Id);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["EventId"] = entry.Fields.GetValueOrDefault("id") ?? "", ["StreamId"] = entry.Id, ["EventType"] = type });
        try
        {
            var outcome = await ApplyAsync(entry, type, cancellationToken);
            await stream.AcknowledgeAsync(entry.Id);
            metrics.Processed(type, outcome);
            activity?.SetTag("voicehive.event.outcome", outcome);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not acknowledged: it stays pending, is retried after ReclaimAfter, and dead-lettered after MaxDeliveries.
            metrics.Failed(type);
            activity?.SetStatus(ActivityStatusCode.Error);
            activity?.SetTag("error.type", exception.GetType().Name);
            LogEventFailed(logger, entry.Id, type, exception.GetType().Name, exception.Message);
        }
    }

    /// <summary>The effect and the processed-event row in one transaction; "duplicate" when the event was applied before.</summary>
    private async Task<string> ApplyAsync(StreamEntry entry, string type, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(entry.Fields.GetValueOrDefault("id"), out var eventId))
        {
            throw new InvalidEventException("the entry has no event id");
        }

        using var payload = JsonDocument.Parse(entry.Fields.GetValueOrDefault("payload") ?? throw new InvalidEventException("the entry has no payload"));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var claim = new NpgsqlCommand("""
            INSERT INTO processed_events (event_id, handler) VALUES (@id, @handler) ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            claim.Parameters.AddWithValue("id", eventId);
            claim.Parameters.AddWithValue("handler", type);
            if (await claim.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.CommitAsync(cancellationToken);
                return "duplicate";
            }
        }

        if (_handlers.TryGetValue(type, out var handler))
        {
            await handler.HandleAsync(payload.RootElement, connection, transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return handler is null ? "ignored" : "applied";
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Reading the event stream failed ({ExceptionType}); retrying in {DelayMs} ms")]
    private static partial void LogPollFailed(ILogger logger, string exceptionType, double delayMs);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Event {StreamId} ({EventType}) failed: {ExceptionType}: {Reason}; it will be retried")]
    private static partial void LogEventFailed(ILogger logger, string streamId, string eventType, string exceptionType, string reason);

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Event {StreamId} ({EventType}) failed {Deliveries} deliveries and was moved to the dead-letter stream")]
    private static partial void LogDeadLettered(ILogger logger, string streamId, string eventType, long deliveries);
}

/// <summary>An entry that can never be applied (no id, no payload): it fails until it is dead-lettered.</summary>
public sealed class InvalidEventException(string message) : Exception(message);

/// <summary>The effect of one event type, applied inside the transaction that records the event as processed.</summary>
public interface IEventHandler
{
    string EventType { get; }

    Task HandleAsync(JsonElement payload, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);
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
