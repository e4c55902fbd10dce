using Npgsql;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// When the replica starts (after the migrations, which start before it), puts the SLA ratio's two counters at 0 for
/// every hotel, so that the guide's CallSuccessRateLow has both series on every replica from the first scrape, whichever
/// replica a call ends on. If the database cannot be read now, each hotel's counters start with its first call here.
/// </summary>
internal sealed partial class CallCounterBaseline(NpgsqlDataSource dataSource, OrchestratorMetrics metrics, ILogger<CallCounterBaseline> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT id FROM hotels");
            await using var reader = await command.ExecuteReaderAsync(stoppingToken);
            while (await reader.ReadAsync(stoppingToken))
            {
                metrics.StartCallCounters(reader.GetString(0));
            }
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            LogNoBaseline(logger, exception.GetType().Name);
        }
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning,
        Message = "Hotels could not be read at start ({ExceptionType}): each hotel's call counters start with its first call on this replica")]
    private static partial void LogNoBaseline(ILogger logger, string exceptionType);
}
