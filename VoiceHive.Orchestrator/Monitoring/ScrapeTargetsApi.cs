using Microsoft.AspNetCore.Http.HttpResults;
using VoiceHive.ServiceDefaults.Telemetry;

namespace VoiceHive.Orchestrator.Monitoring;

/// <summary>
/// <c>GET /monitoring/scrape-targets</c>: every live replica of the services, in Prometheus's HTTP
/// service-discovery format, for an <c>http_sd_configs</c> job (the label <c>voicehive_service</c> says which). Polled
/// every few seconds, so neither traced nor in the request metrics, as the scrapes themselves.
/// </summary>
public static class ScrapeTargetsApi
{
    public static readonly string[] Services = ["orchestrator", "worker"];

    public static RouteHandlerBuilder MapScrapeTargetsApi(this IEndpointRouteBuilder app) =>
        app.MapGet(Microsoft.Extensions.Hosting.Extensions.ScrapeTargetsEndpointPath, async Task<Ok<List<TargetGroup>>> (ScrapeTargetRegistry registry) =>
            {
                var groups = new List<TargetGroup>();
                foreach (var service in Services)
                {
                    var live = await registry.LiveAsync(service);
                    if (live.Count > 0)
                    {
                        groups.Add(new TargetGroup(live, new Dictionary<string, string> { ["voicehive_service"] = service }));
                    }
                }

                return TypedResults.Ok(groups);
            })
            .WithTags("Monitoring")
            .WithName("ScrapeTargets")
            .WithSummary("Live replicas in Prometheus's HTTP service-discovery format")
            .DisableHttpMetrics()
            .RequireAuthorization(AuthenticationExtensions.ScrapePolicy);

    public sealed record TargetGroup(IReadOnlyList<string> Targets, IReadOnlyDictionary<string, string> Labels);
}
