using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using StackExchange.Redis;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// Turns an exception that escaped a handler into problem+json without a stack trace: a dependency
/// that is down (PostgreSQL, Redis) gives 503 with Retry-After, anything else 500. Both are counted
/// in <c>voicehive.errors</c> and logged without request data.
/// </summary>
internal sealed partial class DependencyFailureHandler(
    IProblemDetailsService problemDetails,
    OrchestratorMetrics metrics,
    ILogger<DependencyFailureHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException badRequest)
        {
            // Malformed requests Kestrel or model binding rejected: the caller's fault, not ours.
            return await WriteAsync(httpContext, exception, badRequest.StatusCode, "Bad request", Problems.InvalidPayload, badRequest.Message);
        }

        var dependency = DependencyOf(exception);
        if (dependency is not null)
        {
            metrics.Error(dependency, ErrorType(exception));
            LogDependencyFailure(logger, dependency, exception.GetType().Name);
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return await WriteAsync(httpContext, exception, StatusCodes.Status503ServiceUnavailable, "Service temporarily unavailable",
                Problems.DependencyUnavailable, $"A dependency ({dependency}) is not available. Retry after {RetryAfterSeconds} seconds.");
        }

        metrics.Error("api", ErrorType(exception));
        LogUnhandled(logger, exception);
        return await WriteAsync(httpContext, exception, StatusCodes.Status500InternalServerError, "Internal error", Problems.Internal,
            "The request failed. It has been logged with its trace id.");
    }

    internal static string? DependencyOf(Exception exception) => exception switch
    {
        RedisException or RedisTimeoutException => "redis",
        NpgsqlException or PostgresException => "postgres",
        TimeoutException => "dependency",
        _ when exception.InnerException is { } inner => DependencyOf(inner),
        _ => null,
    };

    private static string ErrorType(Exception exception) => exception switch
    {
        TimeoutException or RedisTimeoutException => "timeout",
        RedisConnectionException => "connection",
        NpgsqlException { IsTransient: true } => "connection",
        _ => exception.GetType().Name,
    };

    private async ValueTask<bool> WriteAsync(HttpContext httpContext, Exception exception, int status, string title, string type, string detail)
    {
        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Type = type, Detail = detail },
        });
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Request failed because {Dependency} is unavailable ({ExceptionType})")]
    private static partial void LogDependencyFailure(ILogger logger, string dependency, string exceptionType);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled exception")]
    private static partial void LogUnhandled(ILogger logger, Exception exception);
}
