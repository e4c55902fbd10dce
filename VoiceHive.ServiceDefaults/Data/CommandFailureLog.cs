using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace VoiceHive.ServiceDefaults.Data;

/// <summary>
/// EF Core's logs of a failed save and of a failed query write the exception's text, in the record's exception and in
/// its message, and PostgreSQL's message can quote the value it refused (a caller's number cast to an integer:
/// <c>value "+44…" is out of range for type integer</c>). Its log of the failed command itself carries no error at all.
/// All three are off (<see cref="Configure"/>), and this interceptor logs each failed command once instead: its
/// duration, its SQL (parameters, never their values) and the error through <see cref="PostgresErrors.Redact"/>.
/// </summary>
internal sealed partial class CommandFailureLog(ILogger<CommandFailureLog> logger) : DbCommandInterceptor
{
    public static void Configure(DbContextOptionsBuilder options, CommandFailureLog log) => options
        .AddInterceptors(log)
        .ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.CommandError, CoreEventId.SaveChangesFailed, CoreEventId.QueryIterationFailed));

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Log(command, eventData);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Log(command, eventData);
        return Task.CompletedTask;
    }

    private void Log(DbCommand command, CommandErrorEventData eventData)
    {
        // A cancelled request is not a database failure (EF logs it as CommandCanceled, which stays on).
        if (eventData.Exception is not OperationCanceledException)
        {
            // The exception's own type too: a redacted one is a RedactedException, which OTLP would export as its type.
            LogFailed(logger, eventData.Duration.TotalMilliseconds, eventData.Exception.GetType().Name, eventData.Context?.GetType().Name,
                command.CommandText, PostgresErrors.Redact(eventData.Exception));
        }
    }

    // EF Core's own id for the event this one replaces (RelationalEventId.CommandError).
    [LoggerMessage(EventId = 20102, Level = LogLevel.Error, Message = "Failed executing DbCommand ({ElapsedMs:F0} ms, {ExceptionType}) for {ContextType}: {CommandText}")]
    private static partial void LogFailed(ILogger logger, double elapsedMs, string exceptionType, string? contextType, string commandText, Exception exception);
}
