using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using VoiceHive.ServiceDefaults.Data;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// Turns an exception that escaped a handler into problem+json without a stack trace: PostgreSQL or Redis
/// that cannot be reached (a connection-class failure, <see cref="DependencyFailures"/>) gives 503 with
/// Retry-After; anything else, other database errors included (a constraint violation, a bad statement), is
/// our fault and gives 500 without details, logged with the trace id. Both are counted in
/// <c>voicehive.errors</c> and logged without request data.
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

        var dependency = DependencyFailures.UnavailableDependency(exception);
        if (dependency is not null)
        {
            metrics.Error(dependency, DependencyFailures.ErrorType(exception));
            LogDependencyFailure(logger, dependency, exception.GetType().Name);
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return await WriteAsync(httpContext, exception, StatusCodes.Status503ServiceUnavailable, "Service temporarily unavailable",
                Problems.DependencyUnavailable, $"A dependency ({dependency}) is not available. Retry after {RetryAfterSeconds} seconds.");
        }

        metrics.Error("api", DependencyFailures.ErrorType(exception));
        LogUnhandled(logger, httpContext.Request.Method, Activity.Current?.TraceId.ToString() ?? httpContext.TraceIdentifier, exception);
        return await WriteAsync(httpContext, exception, StatusCodes.Status500InternalServerError, "Internal error", Problems.Internal,
            "The request failed. It has been logged with its trace id.");
    }

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

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled exception in a {Method} request (trace {TraceId}); answered 500")]
    private static partial void LogUnhandled(ILogger logger, string method, string traceId, Exception exception);
}
