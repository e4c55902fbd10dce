using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
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
/// <item>the worker's record of the events it applied, older than <see cref="RetentionOptions.ProcessedEvents"/>:
/// the window in which a redelivered event is recognised and not applied twice.</item>
/// </list>
/// Every table shares one database, whose schema the orchestrator's migrations own. A pass with nothing to delete
/// leaves no trace (it looks with instrumentation suppressed); each kind that has rows to delete is one
/// <c>retain {kind}</c> span with its statements as children.
/// </summary>
public sealed partial class DataRetention(
    NpgsqlDataSource dataSource,
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
        new("processed events", "processed_events", "event_id, handler", "event_id < @cutoffId AND processed_at < @cutoff", o => o.ProcessedEvents),
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

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Deleted {Count} rows of {Table} older than {Days} days")]
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
    /// How long an applied event is remembered. An event comes again when the relay sent it and could not record that
    /// (it sends it again once PostgreSQL answers), or when a consumer died before acknowledging it: within the
    /// longest outage to ride out, so days, not minutes.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan ProcessedEvents { get; set; } = TimeSpan.FromDays(30);

    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    [System.ComponentModel.DataAnnotations.Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;
}
