using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VoiceHive.ServiceDefaults.Data;

namespace Microsoft.Extensions.Hosting;

/// <summary>The stable <c>type</c> URIs of every problem+json a VoiceHive service answers.</summary>
public static class ProblemTypes
{
    private const string Base = "https://voicehive.dev/problems/";

    public const string Validation = Base + "validation";
    public const string NotFound = Base + "not-found";
    public const string Conflict = Base + "conflict";
    public const string Unauthorized = Base + "unauthorized";
    public const string Forbidden = Base + "forbidden";
    public const string TooManyRequests = Base + "too-many-requests";
    public const string PayloadTooLarge = Base + "payload-too-large";
    public const string InvalidPayload = Base + "invalid-payload";
    public const string DependencyUnavailable = Base + "dependency-unavailable";
    public const string Internal = Base + "internal";
}

/// <summary>Counts the failures <see cref="ProblemResponses"/> answers, in a service that has a metric for them.</summary>
public interface IApiErrorCounter
{
    void Error(string component, string errorType);
}

/// <summary>
/// Every service's error answers, problem+json with a stable type and never a stack trace: 400s from the built-in
/// validation name each field as the client's JSON does; 401, 403 and 429 say what to do; an exception that escapes a
/// handler is a 503 with Retry-After when PostgreSQL or Redis cannot be reached (<see cref="DependencyFailures"/>) and
/// a 500 without details otherwise, logged with the trace id and without request data.
/// </summary>
public static partial class ProblemResponses
{
    /// <summary>What a client is told to wait before it retries after a dependency failure.</summary>
    public const int RetryAfterSeconds = 5;

    public static TBuilder AddProblemResponses<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = Name);
        builder.Services.AddExceptionHandler<ExceptionHandler>();
        return builder;
    }

    private static void Name(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type is not null && !problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
        {
            return;
        }

        switch (problem)
        {
            case HttpValidationProblemDetails { Status: StatusCodes.Status400BadRequest } validation:
                validation.Type = ProblemTypes.Validation;
                validation.Title = "One or more fields are invalid.";
                var errors = validation.Errors.ToDictionary(e => AsJsonPath(e.Key), e => e.Value);
                validation.Errors.Clear();
                foreach (var (field, messages) in errors)
                {
                    validation.Errors[field] = messages;
                }

                break;
            case { Status: StatusCodes.Status401Unauthorized }:
                (problem.Type, problem.Detail) = (ProblemTypes.Unauthorized, "A valid bearer token is required.");
                break;
            case { Status: StatusCodes.Status403Forbidden }:
                (problem.Type, problem.Detail) = (ProblemTypes.Forbidden, "The token does not grant the scope this endpoint needs.");
                break;
            case { Status: StatusCodes.Status429TooManyRequests }:
                (problem.Type, problem.Detail) = (ProblemTypes.TooManyRequests, "Too many requests from this client; retry after the time in Retry-After.");
                break;
        }
    }

    // The validator names a field by its .NET path (Alerts[0].Status); the client wrote it as JSON (alerts[0].status).
    private static string AsJsonPath(string path) =>
        string.Join('.', path.Split('.').Select(JsonNamingPolicy.CamelCase.ConvertName));

    private sealed partial class ExceptionHandler(
        IProblemDetailsService problemDetails,
        IEnumerable<IApiErrorCounter> counters,
        ILogger<ExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is BadHttpRequestException badRequest)
            {
                // Malformed requests Kestrel or model binding rejected: the caller's fault, not ours.
                return await WriteAsync(httpContext, exception, badRequest.StatusCode, "Bad request", ProblemTypes.InvalidPayload, badRequest.Message);
            }

            var dependency = DependencyFailures.UnavailableDependency(exception);
            if (dependency is not null)
            {
                Count(dependency, DependencyFailures.ErrorType(exception));
                LogDependencyFailure(logger, dependency, exception.GetType().Name);
                httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return await WriteAsync(httpContext, exception, StatusCodes.Status503ServiceUnavailable, "Service temporarily unavailable",
                    ProblemTypes.DependencyUnavailable, $"A dependency ({dependency}) is not available. Retry after {RetryAfterSeconds} seconds.");
            }

            Count("api", DependencyFailures.ErrorType(exception));
            // The exception's text, without what a PostgreSQL error may quote.
            LogUnhandled(logger, httpContext.Request.Method, Activity.Current?.TraceId.ToString() ?? httpContext.TraceIdentifier, PostgresErrors.Redact(exception));
            return await WriteAsync(httpContext, exception, StatusCodes.Status500InternalServerError, "Internal error", ProblemTypes.Internal,
                "The request failed. It has been logged with its trace id.");
        }

        private void Count(string component, string errorType)
        {
            foreach (var counter in counters)
            {
                counter.Error(component, errorType);
            }
        }

        private async ValueTask<bool> WriteAsync(HttpContext httpContext, Exception exception, int status, string title, string type, string detail)
        {
            httpContext.Response.StatusCode = status;
            if (await problemDetails.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                Exception = exception,
                ProblemDetails = new ProblemDetails { Status = status, Title = title, Type = type, Detail = detail },
            }))
            {
                return true;
            }

            // A client that accepts no JSON (Accept: text/html) gets the detail as text. Answered either way: a handler that
            // returns false leaves the exception to the middleware, which logs it whole and rethrows it.
            await httpContext.Response.WriteAsync(detail, httpContext.RequestAborted);
            return true;
        }

        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Request failed because {Dependency} is unavailable ({ExceptionType})")]
        private static partial void LogDependencyFailure(ILogger logger, string dependency, string exceptionType);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled exception in a {Method} request (trace {TraceId}); answered 500")]
        private static partial void LogUnhandled(ILogger logger, string method, string traceId, Exception exception);
    }
}
