using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// Per-client rate limits (ASP.NET Core's rate limiter) on the call channel and the alert webhook. A client is the
/// token's subject, or its address (after forwarded headers) where there is no token. Over the limit: 429
/// problem+json with Retry-After, counted by ASP.NET Core's <c>aspnetcore.rate_limiting.requests</c>
/// (<c>aspnetcore_rate_limiting_requests_total{aspnetcore_rate_limiting_result="endpoint_limiter"}</c> on /metrics).
/// </summary>
internal static class RateLimiting
{
    public const string CallsPolicy = "calls";
    public const string WebhookPolicy = "webhook";

    public static IServiceCollection AddClientRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitingOptions>().BindConfiguration(RateLimitingOptions.Section)
            .Validate(options => options.Calls.IsValid && options.Webhook.IsValid,
                "RateLimiting: each PermitLimit must be 1 or more, each Window from 100 ms to 1 h")
            .ValidateOnStart();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitingOptions>>((limiter, configured) =>
        {
            var limits = configured.Value;
            limiter.AddPolicy(CallsPolicy, context => Partition(context, limits.Calls));
            limiter.AddPolicy(WebhookPolicy, context => Partition(context, limits.Webhook));
            limiter.OnRejected = RejectAsync;
        });
        return services;
    }

    private static RateLimitPartition<string> Partition(HttpContext context, ClientLimit limit) =>
        RateLimitPartition.GetFixedWindowLimiter(AuthenticationExtensions.ClientKey(context), _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limit.PermitLimit,
            Window = limit.Window,
            QueueLimit = 0,
        });

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = StatusCodes.Status429TooManyRequests, Title = "Too many requests" },
        });
    }
}

/// <summary>Section <c>RateLimiting</c>: requests each client may make per window.</summary>
internal sealed class RateLimitingOptions
{
    public const string Section = "RateLimiting";

    /// <summary>The call channel (start, turn, end): a gateway carries every call of its hotels, so the limit is generous.</summary>
    public ClientLimit Calls { get; set; } = new() { PermitLimit = 1_000, Window = TimeSpan.FromSeconds(1) };

    /// <summary>The alert webhook: Alertmanager sends a notification per group and interval.</summary>
    public ClientLimit Webhook { get; set; } = new() { PermitLimit = 100, Window = TimeSpan.FromSeconds(1) };
}

internal sealed class ClientLimit
{
    public int PermitLimit { get; set; }

    public TimeSpan Window { get; set; }

    public bool IsValid => PermitLimit >= 1 && Window >= TimeSpan.FromMilliseconds(100) && Window <= TimeSpan.FromHours(1);
}
