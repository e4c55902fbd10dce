using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace VoiceHive.ServiceDefaults.Data;

/// <summary>How long start-up waits for PostgreSQL before it gives up (section <c>Database</c>).</summary>
public sealed class DatabaseMigrationOptions
{
    public const string Section = "Database";

    public TimeSpan MigrationTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Applies the context's migrations when the host starts, before the server accepts requests. A database
/// named in the connection string that does not exist yet is created first, as EF Core's migrations would.
/// Replicas that start together serialise on a PostgreSQL advisory lock, so each migration is applied once
/// and the history table is created once. A server that is not reachable yet is retried until the timeout;
/// then, or on a failure retrying cannot mend, start-up fails with one line that says why.
/// </summary>
internal sealed partial class DatabaseMigrator<TContext>(
    string connectionString,
    IServiceScopeFactory scopes,
    NpgsqlDataSource dataSource,
    IOptions<DatabaseMigrationOptions> options,
    TimeProvider timeProvider,
    ILogger<DatabaseMigrator<TContext>> logger) : IHostedService
    where TContext : DbContext
{
    // One key for every VoiceHive schema in the database ("VoiceHiv" in ASCII).
    private const long MigrationLockKey = 0x566F696365486976;
    private const string InvalidCatalogName = "3D000";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = timeProvider.GetUtcNow() + options.Value.MigrationTimeout;
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(deadline, cancellationToken);
                LogMigrated(logger, typeof(TContext).Name);
                return;
            }
            catch (Exception exception) when (IsTransient(exception) && timeProvider.GetUtcNow() + delay < deadline)
            {
                LogDatabaseNotReady(logger, Describe(), attempt, PostgresErrors.Reason(exception));
                await Task.Delay(delay, timeProvider, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            catch (Exception exception) when (IsDatabaseFailure(exception))
            {
                var reason = IsTransient(exception)
                    ? string.Create(CultureInfo.InvariantCulture, $"not reachable within {options.Value.MigrationTimeout} (Database:MigrationTimeout)")
                    : "refused the migration";
                throw new StartupFailedException($"PostgreSQL at {Describe()} {reason}: {PostgresErrors.Reason(exception)}", exception);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task MigrateAsync(DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        // A session-level lock on a connection of its own. It must be released explicitly: a pooled
        // connection keeps its session, and its locks, after it is returned. If this process dies, the
        // server ends the session and the lock with it.
        await using var lockConnection = await OpenCreatingTheDatabaseAsync(cancellationToken);
        await AcquireLockAsync(lockConnection, deadline, cancellationToken);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var context = scope.ServiceProvider.GetRequiredService<TContext>();
            // Creating the history table first spares a fresh database EF's probe of a missing table, which
            // EF logs as a failed command although nothing is wrong.
            await context.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
            await context.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            try
            {
                await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({MigrationLockKey})", lockConnection);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (NpgsqlException)
            {
                // The connection is gone, and the lock with its session; the migration's own outcome matters more.
            }
        }
    }

    private async Task<NpgsqlConnection> OpenCreatingTheDatabaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == InvalidCatalogName)
        {
            await CreateDatabaseAsync(cancellationToken);
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
    }

    /// <summary>Creates the database through the server's maintenance database; a replica that created it first is no error.</summary>
    private async Task CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{target.Database!.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
        try
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
            LogDatabaseCreated(logger, target.Database);
        }
        catch (PostgresException exception) when (exception.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
        }
    }

    /// <summary>Polls for the lock until the deadline, so a replica migrating slowly (or stuck) never makes this one hang.</summary>
    private async Task AcquireLockAsync(NpgsqlConnection connection, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({MigrationLockKey})", connection);
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return;
            }

            if (timeProvider.GetUtcNow() >= deadline)
            {
                throw new StartupFailedException(string.Create(CultureInfo.InvariantCulture,
                    $"Another replica held the migration lock of PostgreSQL at {Describe()} for longer than {options.Value.MigrationTimeout} (Database:MigrationTimeout)."));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), timeProvider, cancellationToken);
        }
    }

    /// <summary>Host, port and database: enough to find the server, nothing secret.</summary>
    private string Describe()
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return string.Create(CultureInfo.InvariantCulture, $"{builder.Host}:{builder.Port}/{builder.Database}");
    }

    /// <summary>A transient Npgsql failure anywhere in the chain (EF wraps some in InvalidOperationException).</summary>
    private static bool IsTransient(Exception exception) =>
        Chain(exception).Any(e => e is NpgsqlException { IsTransient: true });

    private static bool IsDatabaseFailure(Exception exception) =>
        Chain(exception).Any(e => e is NpgsqlException or TimeoutException);

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Database schema of {Context} is up to date")]
    private static partial void LogMigrated(ILogger logger, string context);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "PostgreSQL at {Server} is not reachable yet (attempt {Attempt}): {Reason}")]
    private static partial void LogDatabaseNotReady(ILogger logger, string server, int attempt, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Created the database {Database}, which did not exist")]
    private static partial void LogDatabaseCreated(ILogger logger, string database);
}
