using Npgsql;
using StackExchange.Redis;

namespace VoiceHive.ServiceDefaults.Data;

/// <summary>
/// Tells "PostgreSQL or Redis cannot be reached" from every other failure. The first is an outage, waited out
/// (a 503 with Retry-After to a client; an event kept and retried, not counted as a failed delivery); the second is
/// a fault of our own or of one request (a constraint violation, bad SQL, a malformed event): a 500, a counted failure.
/// </summary>
public static class DependencyFailures
{
    public const string Postgres = "postgres";
    public const string Redis = "redis";

    /// <summary>
    /// The dependency <paramref name="exception"/> (or one it wraps: EF Core and the OpenTelemetry SDK wrap driver
    /// exceptions) says is unavailable, or null when the failure is of another kind.
    /// </summary>
    public static string? UnavailableDependency(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                // Refused or reset connections, timeouts, a server shutting down or not accepting connections yet,
                // too many connections: the driver's own classification. Constraint violations and bad statements
                // are PostgresExceptions that are not transient.
                case NpgsqlException npgsql:
                    return npgsql.IsTransient ? Postgres : null;
                case RedisConnectionException or RedisTimeoutException:
                    return Redis;
                // Redis answers but cannot serve yet: loading its data set after a restart, or a replica cut off from its primary.
                case RedisServerException server when server.Message.StartsWith("LOADING", StringComparison.Ordinal)
                    || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
                    || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal):
                    return Redis;
                case AggregateException { InnerExceptions.Count: > 0 } aggregate:
                    return aggregate.InnerExceptions.Select(UnavailableDependency).FirstOrDefault(d => d is not null);
            }
        }

        return null;
    }

    /// <summary>A low-cardinality kind for <c>voicehive.errors</c>' <c>error_type</c>.</summary>
    public static string ErrorType(Exception exception) => exception switch
    {
        RedisTimeoutException or TimeoutException => "timeout",
        RedisConnectionException => "connection",
        NpgsqlException { IsTransient: true, InnerException: TimeoutException } => "timeout",
        NpgsqlException { IsTransient: true } => "connection",
        _ when exception.InnerException is { } inner && UnavailableDependency(inner) is not null => ErrorType(inner),
        _ => exception.GetType().Name,
    };
}
