using System.Net;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace VoiceHive.ServiceDefaults.Http;

/// <summary>
/// Sends each request through a Polly pipeline: total timeout → retry (exponential backoff with
/// jitter, transient failures only) → circuit breaker → per-attempt timeout. Stand-in for
/// Microsoft.Extensions.Http.Resilience's <c>AddStandardResilienceHandler()</c>, which does not
/// restore here and would replace this class.
/// </summary>
internal sealed class ResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline) : DelegatingHandler
{
    private static readonly ResiliencePropertyKey<HttpMethod> MethodKey = new("voicehive.http.method");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Every attempt is built from what the caller sent, taken before any inner handler (tracing,
        // service discovery) has touched the request, so no attempt inherits another's headers or URI.
        var content = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = Clone(request, content);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(MethodKey, request.Method);
        var first = true;
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                async (ctx, state) =>
                {
                    var attempt = first ? state.Request : Clone(state.Snapshot, state.Content);
                    first = false;
                    try
                    {
                        return Outcome.FromResult(await base.SendAsync(attempt, ctx.CancellationToken).ConfigureAwait(false));
                    }
                    catch (Exception exception)
                    {
                        return Outcome.FromException<HttpResponseMessage>(exception);
                    }
                },
                context,
                (Request: request, Snapshot: snapshot, Content: content)).ConfigureAwait(false);

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            snapshot.Dispose();
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static HttpRequestMessage Clone(HttpRequestMessage request, byte[]? content)
    {
        var clone = new HttpRequestMessage(request.Method, request.RequestUri)
        {
            Version = request.Version,
            VersionPolicy = request.VersionPolicy,
        };
        foreach (var header in request.Headers)
        {
            clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in request.Options)
        {
            ((IDictionary<string, object?>)clone.Options)[option.Key] = option.Value;
        }

        if (content is not null && request.Content is not null)
        {
            clone.Content = new ByteArrayContent(content);
            foreach (var header in request.Content.Headers)
            {
                clone.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return clone;
    }

    /// <summary>Transient: a connection failure, a timed-out attempt, 408, 429 or any 5xx.</summary>
    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            || (int)response.StatusCode >= 500,
        _ => false,
    };

    /// <summary>
    /// Whether an attempt may be retried: any transient failure for a safe or idempotent method, but for
    /// POST and PATCH only a connection that could not be made (the server never saw the request), so that
    /// no booking or order is made twice.
    /// </summary>
    internal static bool IsRetryable(Outcome<HttpResponseMessage> outcome, HttpMethod? method) =>
        IsTransient(outcome) && (method is null || IsIdempotent(method)
            || outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError });

    private static bool IsIdempotent(HttpMethod method) =>
        method != HttpMethod.Post && method != HttpMethod.Patch;

    internal static ResiliencePipeline<HttpResponseMessage> BuildPipeline(HttpResilienceOptions options, TimeProvider timeProvider) =>
        new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
            .AddTimeout(options.TotalTimeout)
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, options.MaxRetryAttempts),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(options.MaxRetryAttempts > 0
                    && IsRetryable(args.Outcome, args.Context.Properties.GetValue(MethodKey, null!))),
                OnRetry = args =>
                {
                    // The response of an attempt that is retried is never seen by the caller.
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
}
