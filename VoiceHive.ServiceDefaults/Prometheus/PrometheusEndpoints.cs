using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using VoiceHive.ServiceDefaults.Telemetry;

namespace VoiceHive.ServiceDefaults.Prometheus;

internal static class PrometheusEndpoints
{
    /// <summary>Set by the scrape-cost benchmark: the business meters also through the hand-written writer, at <see cref="ComparisonPath"/>.</summary>
    public const string ComparisonSetting = "Benchmarks:HandWrittenExposition";
    public const string ComparisonPath = "/monitoring/metrics-handwritten";

    /// <summary>
    /// Maps a scrape endpoint for the meters <paramref name="includeMeter"/> accepts. With metrics
    /// turned off (<c>METRICS_ENABLED=false</c>) it answers an empty exposition, so a scrape job
    /// still sees the target up.
    /// </summary>
    public static IEndpointConventionBuilder MapPrometheusScrapingEndpoint(
        this IEndpointRouteBuilder endpoints, string path, Func<string, bool> includeMeter) =>
        endpoints.MapGet(path, (HttpContext context) => ScrapeAsync(context, includeMeter))
            .ExcludeFromDescription();

    private static async Task ScrapeAsync(HttpContext context, Func<string, bool> includeMeter)
    {
        var format = ExpositionFormats.Negotiate(context.Request.Headers.Accept);
        var settings = context.RequestServices.GetRequiredService<TelemetrySettings>();
        var output = new ArrayBufferWriter<byte>(16 * 1024);

        if (settings.MetricsEnabled)
        {
            var scraper = context.RequestServices.GetRequiredService<PrometheusScraper>();
            if (!scraper.TryScrape(output, includeMeter, format))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                return;
            }
        }
        else if (format == ExpositionFormat.OpenMetrics)
        {
            output.Write("# EOF\n"u8);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = format.ContentType();
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.ContentLength = output.WrittenCount;
        await context.Response.Body.WriteAsync(output.WrittenMemory, context.RequestAborted);
    }
}
