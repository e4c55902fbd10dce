using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;

namespace VoiceHive.ServiceDefaults.Http;

/// <summary>
/// Which failed attempts the standard resilience handler may retry: any transient failure of a safe or
/// idempotent request, but a POST or PATCH only when the connection was never made (the server never saw
/// it), so that no booking or order is made twice.
/// </summary>
internal static class HttpRetries
{
    public static ValueTask<bool> ShouldRetry(RetryPredicateArguments<HttpResponseMessage> args) =>
        ValueTask.FromResult(HttpClientResiliencePredicates.IsTransient(args.Outcome)
            && (IsIdempotent(args.Context.GetRequestMessage()?.Method) || NeverReachedTheServer(args.Outcome)));

    private static bool IsIdempotent(HttpMethod? method) =>
        method != HttpMethod.Post && method != HttpMethod.Patch;

    private static bool NeverReachedTheServer(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };
}
