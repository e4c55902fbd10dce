using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using VoiceHive.ServiceDefaults.Data;
using VoiceHive.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// PostgreSQL and Redis as both services use them, through Aspire's client integrations (health checks,
/// tracing, metrics) with VoiceHive's few settings.
/// </summary>
public static class DataClientExtensions
{
    /// <summary>Statements Npgsql keeps prepared per connection when the connection string does not say.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// One <see cref="NpgsqlDataSource"/> for <c>ConnectionStrings:{connectionName}</c>, shared by a pooled
    /// <typeparamref name="TContext"/> and the services' own SQL (one pool, not two); Aspire's health check,
    /// tracing and metrics for it (<c>EnrichNpgsqlDbContext</c>); and its migrations applied at start-up,
    /// creating the database first if it does not exist.
    /// </summary>
    public static IHostApplicationBuilder AddVoiceHiveDbContext<TContext>(this IHostApplicationBuilder builder, string connectionName, string migrationsHistoryTable)
        where TContext : DbContext
    {
        var connectionString = builder.Configuration.GetRequiredConnectionString(connectionName);
        builder.Services.AddNpgsqlDataSource(connectionString, dataSource =>
        {
            // Npgsql names the pool after the connection string unless told otherwise, and the pool name is a
            // label of its metrics: named after the connection, no host or user reaches a metric.
            dataSource.Name = connectionName;
            // Statements run again and again (the webhook's upsert, the relay's poll, the calls' queries) are
            // prepared on the server once used often enough, unless the connection string sets Max Auto Prepare
            // (0 behind PgBouncer in transaction mode).
            if (!SetsMaxAutoPrepare(connectionString))
            {
                dataSource.ConnectionStringBuilder.MaxAutoPrepare = DefaultMaxAutoPrepare;
            }

            // A span per command is enough: the "first response" event on each one costs more than it tells.
            dataSource.ConfigureTracing(tracing => tracing.EnableFirstResponseEvent(false));
        });
        builder.Services.TryAddSingleton<CommandFailureLog>();
        builder.Services.AddDbContextPool<TContext>((services, options) =>
        {
            options.UseNpgsql(services.GetRequiredService<NpgsqlDataSource>(), npgsql => npgsql.MigrationsHistoryTable(migrationsHistoryTable));
            // A failed command is logged without the values PostgreSQL may quote in its error.
            CommandFailureLog.Configure(options, services.GetRequiredService<CommandFailureLog>());
        });

        var telemetry = TelemetrySettings.FromConfiguration(builder.Configuration);
        builder.EnrichNpgsqlDbContext<TContext>(settings =>
        {
            // No retrying execution strategy: it refuses the transactions the services open themselves (the
            // webhook's store, a call's end, an event's effect, each with its outbox or processed-event row),
            // and would hold a request through 30 s of retries. A database that is down is answered where it
            // is met: 503 with Retry-After for a request, a retry with backoff in the relay and the consumer.
            settings.DisableRetry = true;
            settings.DisableMetrics = !telemetry.MetricsEnabled;
            settings.DisableTracing = !telemetry.TracingEnabled;
        });

        builder.Services.AddOptions<DatabaseMigrationOptions>().BindConfiguration(DatabaseMigrationOptions.Section);
        builder.Services.AddHostedService(services => ActivatorUtilities.CreateInstance<DatabaseMigrator<TContext>>(services, connectionString));
        return builder;
    }

    /// <summary>
    /// The shared <c>IConnectionMultiplexer</c> for <c>ConnectionStrings:{connectionName}</c> with Aspire's health
    /// check and tracing, and this replica's scrape-address announcement (when <c>Monitoring:AdvertisedHost</c> is set).
    /// </summary>
    public static IHostApplicationBuilder AddVoiceHiveRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        builder.Configuration.GetRequiredConnectionString(connectionName);
        var telemetry = TelemetrySettings.FromConfiguration(builder.Configuration);
        builder.AddRedisClient(
            connectionName,
            settings => settings.DisableTracing = !telemetry.TracingEnabled,
            // The multiplexer reconnects by itself: a Redis that is down at start-up or goes away later makes
            // the service unready, not dead.
            options => options.AbortOnConnectFail = false);
        builder.Services.AddScrapeTargetAnnouncer();
        return builder;
    }

    // NpgsqlConnectionStringBuilder.ContainsKey answers whether a keyword is known, not whether it was given:
    // the raw string is asked instead, under both spellings Npgsql accepts.
    internal static bool SetsMaxAutoPrepare(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return given.ContainsKey("Max Auto Prepare") || given.ContainsKey("MaxAutoPrepare");
    }
}
