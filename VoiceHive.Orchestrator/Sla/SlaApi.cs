using Microsoft.AspNetCore.Http.HttpResults;

namespace VoiceHive.Orchestrator.Sla;

public static class SlaApi
{
    public static RouteHandlerBuilder MapSlaApi(this IEndpointRouteBuilder app) =>
        app.MapGet("/monitoring/sla", async Task<Ok<SlaReport>> (SlaReporter reporter, string? hotel, CancellationToken cancellationToken) =>
                TypedResults.Ok(await reporter.ReportAsync(hotel, cancellationToken)))
            .WithTags("Monitoring")
            .WithName("SlaReport")
            .WithSummary("Call success rate, error budget, burn rate and PMS p95 per hotel and overall, over 1 h, 24 h and 30 d")
            .RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
}
