using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;
using VoiceHive.ServiceDefaults.Data;

namespace Microsoft.Extensions.Hosting;

public static class NpgsqlDbContextExtensions
{
    public const string HealthCheckName = "postgres";

    /// <summary>Statements Npgsql keeps prepared per connection when the connection string does not say.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> and a pooled <typeparamref name="TContext"/> for
    /// <c>ConnectionStrings:{connectionName}</c>, a readiness check, and the context's migrations applied
    /// at start-up before the service takes requests. Stand-in for Aspire's <c>AddNpgsqlDbContext</c>
    /// (Aspire.Npgsql.EntityFrameworkCore.PostgreSQL), which does not restore here.
    /// </summary>
    public static IHostApplicationBuilder AddNpgsqlDbContext<TContext>(
        this IHostApplicationBuilder builder,
        string connectionName,
        Action<Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder>? configureNpgsql = null)
        where TContext : DbContext
    {
        var connectionString = builder.Configuration.GetRequiredConnectionString(connectionName);
        // Npgsql names the pool after the connection string unless told otherwise, and the pool name is a
        // label of its metrics: name it after the connection so no host or user reaches a metric.
        builder.Services.AddSingleton(_ =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(connectionString) { Name = connectionName };
            // Statements run again and again (the webhook's upsert, the relay's poll, the calls' queries) are
            // prepared on the server once used often enough (Npgsql's Auto Prepare Min Usages, 5), unless the
            // connection string sets Max Auto Prepare (0 behind PgBouncer in transaction mode).
            if (!SetsMaxAutoPrepare(connectionString))
            {
                dataSource.ConnectionStringBuilder.MaxAutoPrepare = DefaultMaxAutoPrepare;
            }

            // A span per command is enough: the "first response" event on each one costs more than it tells.
            dataSource.ConfigureTracing(tracing => tracing.EnableFirstResponseEvent(false));

            return dataSource.Build();
        });
        builder.Services.AddDbContextPool<TContext>((sp, options) => options.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>(), configureNpgsql));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            HealthCheckName,
            sp => new PostgresHealthCheck(sp.GetRequiredService<NpgsqlDataSource>()),
            HealthStatus.Unhealthy,
            ["ready"],
            TimeSpan.FromSeconds(5)));
        builder.Services.AddOptions<DatabaseMigrationOptions>().BindConfiguration(DatabaseMigrationOptions.Section);
        builder.Services.AddHostedService<DatabaseMigrator<TContext>>();
        return builder;
    }

    // NpgsqlConnectionStringBuilder.ContainsKey answers whether a keyword is known, not whether it was given:
    // the raw string is asked instead, under both spellings Npgsql accepts.
    internal static bool SetsMaxAutoPrepare(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return given.ContainsKey("Max Auto Prepare") || given.ContainsKey("MaxAutoPrepare");
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy("PostgreSQL answered a query");
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL does not answer a query");
            }
        }
    }
}

/// <summary>How long start-up waits for PostgreSQL before it gives up (section <c>Database</c>).</summary>
public sealed class DatabaseMigrationOptions
{
    public const string Section = "Database";

    public TimeSpan MigrationTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Applies the context's migrations when the host starts, before the server accepts requests.
/// Replicas that start together serialise on a PostgreSQL advisory lock, so each migration is
/// applied once and the history table is created once. A database that is not reachable yet is
/// retried until the timeout.
/// </summary>
internal sealed partial class DatabaseMigrator<TContext>(
    IServiceScopeFactory scopes,
    NpgsqlDataSource dataSource,
    Microsoft.Extensions.Options.IOptions<DatabaseMigrationOptions> options,
    TimeProvider timeProvider,
    ILogger<DatabaseMigrator<TContext>> logger) : IHostedService
    where TContext : DbContext
{
    // One key for every VoiceHive schema in the database ("VoiceHiv" in ASCII).
    private const long MigrationLockKey = 0x566F696365486976;

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
                LogDatabaseNotReady(logger, typeof(TContext).Name, attempt, exception.GetBaseException().Message);
                await Task.Delay(delay, timeProvider, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>A transient Npgsql failure anywhere in the chain (EF wraps some in InvalidOperationException).</summary>
    private static bool IsTransient(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is NpgsqlException { IsTransient: true })
            {
                return true;
            }
        }

        return false;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task MigrateAsync(DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        // A session-level lock on a connection of its own. It must be released explicitly: a pooled
        // connection keeps its session, and its locks, after it is returned. If this process dies, the
        // server ends the session and the lock with it.
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
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
                await ExecuteAsync(lockConnection, $"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
            }
            catch (NpgsqlException)
            {
                // The connection is gone, and the lock with its session; the migration's own outcome matters more.
            }
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
                throw new TimeoutException($"Another replica held the migration lock for longer than {options.Value.MigrationTimeout}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), timeProvider, cancellationToken);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Database schema of {Context} is up to date")]
    private static partial void LogMigrated(ILogger logger, string context);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "PostgreSQL is not reachable for {Context} (attempt {Attempt}): {Reason}")]
    private static partial void LogDatabaseNotReady(ILogger logger, string context, int attempt, string reason);
}
