using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using StackExchange.Redis;
using VoiceHive.Worker.Events;
using VoiceHive.Worker.Infrastructure;

namespace VoiceHive.Worker.Retention;

/// <summary>
/// Deletes what the system keeps only for a while, in small batches so that no long lock or transaction competes
/// with live calls:
/// <list type="bullet">
/// <item>call transcripts (the turns, which hold what callers said) older than <see cref="RetentionOptions.Transcripts"/>;
/// call records and their SLA figures are kept;</item>
/// <item>outbox messages dispatched to the stream longer ago than <see cref="RetentionOptions.Outbox"/> (a message
/// still waiting for Redis is never deleted);</item>
/// <item>events older than <see cref="RetentionOptions.Events"/>: the worker's record of the events it applied, and
/// the entries of the event stream (only those its consumer group has read and acknowledged) and of its dead-letter
/// stream. The record is what recognises an event that comes
/// again, and the streams are where it can come again from (a consumer group created anew reads its stream from the
/// start; an operator replays dead letters), so one window bounds all three.</item>
/// </list>
/// The tables share one database (the orchestrator's migrations own all but processed_events, which is the worker's).
/// A pass with nothing to delete leaves no trace (it looks with instrumentation suppressed, or, for Redis, outside any
/// span); each kind that has something to delete is one <c>retain {kind}</c> span with its commands as children.
/// </summary>
public sealed partial class DataRetention(
    NpgsqlDataSource dataSource,
    EventStream stream,
    IOptions<RetentionOptions> options,
    WorkerMetrics metrics,
    TimeProvider timeProvider,
    ILogger<DataRetention> logger) : BackgroundService
{
    // The outbox and event ids are UUIDv7, in time order, so a range on the primary key finds the old rows by index
    // (neither table needs an index on its timestamps, which every write would pay for); the timestamp decides. A row
    // is created before it is dispatched or processed, so every expired row lies in the range.
    private static readonly RetentionRule[] Rules =
    [
        new("transcripts", "call_turns", "id", "created_at < @cutoff", o => o.Transcripts),
        new("outbox", "outbox_messages", "id", "id < @cutoffId AND dispatched_at < @cutoff", o => o.Outbox),
        new("processed events", "processed_events", "event_id, handler", "event_id < @cutoffId AND processed_at < @cutoff", o => o.Events),
    ];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var rule in Rules)
            {
                try
                {
                    var deleted = await DeleteExpiredAsync(rule, stoppingToken);
                    if (deleted > 0)
                    {
                        LogDeleted(logger, deleted, rule.Table, rule.Window(options.Value).TotalDays);
                    }
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    LogFailed(logger, rule.Table, exception.GetType().Name);
                }
            }

            foreach (var (name, key, trim) in Streams)
            {
                try
                {
                    var trimmed = await TrimStreamAsync(name, key, trim);
                    if (trimmed > 0)
                    {
                        LogDeleted(logger, trimmed, key.ToString(), options.Value.Events.TotalDays);
                    }
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException)
                {
                    LogFailed(logger, key.ToString(), exception.GetType().Name);
                }
            }

            await Task.Delay(options.Value.Interval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Deletes every expired row of one kind, one batch per statement; returns how many.</summary>
    private async Task<long> DeleteExpiredAsync(RetentionRule rule, CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - rule.Window(options.Value);
        using (SuppressInstrumentationScope.Begin())
        {
            await using var expired = Command($"SELECT EXISTS (SELECT 1 FROM {rule.Table} WHERE {rule.Expired})", cutoff);
            if (await expired.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return 0;
            }
        }

        using var activity = WorkerTelemetry.ActivitySource.StartActivity($"retain {rule.Name}");
        long total = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            // The batch by row address (ctid): the delete then reads just those rows, where a join on the key would
            // scan the whole table for every batch.
            await using var command = Command($"""
                DELETE FROM {rule.Table} WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM {rule.Table} WHERE {rule.Expired} ORDER BY {rule.Key} LIMIT @batch))
                """, cutoff);
            command.Parameters.AddWithValue("batch", options.Value.BatchSize);
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            if (deleted > 0)
            {
                metrics.RetentionDeleted(rule.Table, deleted);
            }

            if (deleted < options.Value.BatchSize)
            {
                break;
            }
        }

        activity?.SetTag("db.collection.name", rule.Table);
        activity?.SetTag("voicehive.retention.deleted", total);
        return total;
    }

    // The event stream keeps what the worker's group has not read or not acknowledged yet, however old; a dead letter
    // older than the window goes (the EventsDeadLettered alert fired when it came).
    private (string Name, RedisKey Key, Func<DateTimeOffset, Task<long>> Trim)[] Streams =>
    [
        ("event stream", stream.StreamKey, stream.TrimConsumedBeforeAsync),
        ("dead letters", stream.DeadLetterKey, cutoff => stream.TrimBeforeAsync(stream.DeadLetterKey, cutoff)),
    ];

    /// <summary>Deletes the entries of one stream older than <see cref="RetentionOptions.Events"/>; returns how many.</summary>
    private async Task<long> TrimStreamAsync(string name, RedisKey key, Func<DateTimeOffset, Task<long>> trim)
    {
        var cutoff = timeProvider.GetUtcNow() - options.Value.Events;
        // A Redis command outside any span is not exported (see UntracedWorkSampler), so the look needs no suppression.
        if (!await stream.HasEntriesBeforeAsync(key, cutoff))
        {
            return 0;
        }

        using var activity = WorkerTelemetry.ActivitySource.StartActivity($"retain {name}");
        var trimmed = await trim(cutoff);
        metrics.RetentionDeleted(name.Replace(' ', '_'), trimmed);
        activity?.SetTag("messaging.destination.name", key.ToString());
        activity?.SetTag("voicehive.retention.deleted", trimmed);
        return trimmed;
    }

    private NpgsqlCommand Command(string sql, DateTimeOffset cutoff)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("cutoff", cutoff);
        // A version-7 id of the cutoff's millisecond: ids made before it sort below it.
        command.Parameters.AddWithValue("cutoffId", Guid.CreateVersion7(cutoff));
        return command;
    }

    /// <summary>Rows of <paramref name="Table"/> matching <paramref name="Expired"/> are deleted, oldest first by <paramref name="Key"/> (its primary key).</summary>
    private sealed record RetentionRule(string Name, string Table, string Key, string Expired, Func<RetentionOptions, TimeSpan> Window);

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Deleted {Count} entries of {Table} older than {Days} days")]
    private static partial void LogDeleted(ILogger logger, long count, string table, double days);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Retention of {Table} failed ({ExceptionType}); retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, string table, string exceptionType);
}

/// <summary>Section <c>Retention</c>.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Transcripts { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How long a dispatched outbox message is kept, to see what was sent.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan Outbox { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long events are kept: the record of the applied ones, and the entries of the event stream and the dead-letter
    /// stream. An event comes again when the relay sent it and could not record that (it sends it again once PostgreSQL
    /// answers), when a consumer died before acknowledging it, when a consumer group is created anew (it reads the stream
    /// from the start) and when an operator replays a dead letter: the record must cover all of them, so days, not minutes.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Events { get; set; } = TimeSpan.FromDays(30);

    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    [System.ComponentModel.DataAnnotations.Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;
}
