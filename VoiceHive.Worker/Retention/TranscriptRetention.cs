using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using VoiceHive.Worker.Infrastructure;

namespace VoiceHive.Worker.Retention;

/// <summary>
/// Deletes call transcripts (the turns, which hold what callers said) older than
/// <see cref="RetentionOptions.Transcripts"/>, in small batches so that no long lock or transaction
/// competes with live calls. Call records and their SLA figures are kept. A pass with nothing to delete
/// leaves no trace (it looks with instrumentation suppressed); one that deletes is one <c>retain transcripts</c>
/// span with its statements as children.
/// </summary>
public sealed partial class TranscriptRetention(
    NpgsqlDataSource dataSource,
    IOptions<RetentionOptions> options,
    WorkerMetrics metrics,
    TimeProvider timeProvider,
    ILogger<TranscriptRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var deleted = await DeleteExpiredAsync(stoppingToken);
                if (deleted > 0)
                {
                    LogDeleted(logger, deleted, options.Value.Transcripts.TotalDays);
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                LogFailed(logger, exception.GetType().Name);
            }

            await Task.Delay(options.Value.Interval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Deletes every expired turn, one batch per statement; returns how many.</summary>
    public async Task<long> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - options.Value.Transcripts;
        using (SuppressInstrumentationScope.Begin())
        {
            await using var expired = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM call_turns WHERE created_at < @cutoff)");
            expired.Parameters.AddWithValue("cutoff", cutoff);
            if (await expired.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return 0;
            }
        }

        using var activity = WorkerTelemetry.ActivitySource.StartActivity("retain transcripts");
        long total = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            await using var command = dataSource.CreateCommand("""
                DELETE FROM call_turns WHERE id IN (
                    SELECT id FROM call_turns WHERE created_at < @cutoff ORDER BY id LIMIT @batch)
                """);
            command.Parameters.AddWithValue("cutoff", cutoff);
            command.Parameters.AddWithValue("batch", options.Value.BatchSize);
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            if (deleted == 0)
            {
                break;
            }

            total += deleted;
            metrics.RetentionDeleted("call_turns", deleted);
        }

        activity?.SetTag("voicehive.retention.deleted", total);

        return total;
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Deleted {Count} transcript turns older than {Days} days")]
    private static partial void LogDeleted(ILogger logger, long count, double days);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Transcript retention failed ({ExceptionType}); retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, string exceptionType);
}

/// <summary>Section <c>Retention</c>.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Transcripts { get; set; } = TimeSpan.FromDays(90);

    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    [System.ComponentModel.DataAnnotations.Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;
}
