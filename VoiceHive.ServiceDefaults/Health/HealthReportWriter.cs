using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace VoiceHive.ServiceDefaults.Health;

/// <summary>
/// The JSON body of <c>/health</c> and <c>/alive</c>: overall status and, per check, its status,
/// duration and description. Exception texts are left out: they can carry connection strings. That is why this is
/// not AspNetCore.HealthChecks.UI.Client's <c>UIResponseWriter</c> (served here): it writes each failed check's
/// exception message into the body, which any caller of <c>/health</c> can read.
/// </summary>
internal static class HealthReportWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        if (report.Status == HealthStatus.Unhealthy)
        {
            context.Response.Headers.RetryAfter = "10";
        }

        var body = new HealthReportDto(
            report.Status.ToString(),
            report.TotalDuration.TotalMilliseconds,
            report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new HealthEntryDto(
                    entry.Value.Status.ToString(),
                    entry.Value.Duration.TotalMilliseconds,
                    entry.Value.Description,
                    entry.Value.Tags.ToArray())));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, HealthJsonContext.Default.HealthReportDto, context.RequestAborted);
    }
}

internal sealed record HealthReportDto(string Status, double TotalDurationMs, Dictionary<string, HealthEntryDto> Checks);

internal sealed record HealthEntryDto(string Status, double DurationMs, string? Description, string[] Tags);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = false)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthReportDto))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
