using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using VoiceHive.Orchestrator.Infrastructure;
using VoiceHive.ServiceDefaults;

namespace VoiceHive.Orchestrator.Alerts;

/// <summary>
/// Alertmanager's webhook receiver (<c>POST /monitoring/alerts/webhook</c>) and the list of alerts
/// (<c>GET /monitoring/alerts</c>).
/// </summary>
public static partial class AlertsApi
{
    public const long MaxBodyBytes = 1024 * 1024;
    private const int MaxLabels = 64;
    private const int MaxLabelValueLength = 1024;
    private const int MaxAnnotationValueLength = 16 * 1024;
    private const int MaxAlertLinesPerNotification = 3;
    private const int MaxSummaryGroups = 10;
    private static readonly string[] Statuses = ["firing", "resolved"];

    /// <summary>Alertmanager's authentication scheme: the bearer token <c>ALERT_WEBHOOK_TOKEN</c> (a shared token, not a JWT).</summary>
    public const string WebhookScheme = "AlertmanagerToken";

    /// <summary>Who may deliver to the webhook: a caller with <see cref="WebhookScheme"/>'s token.</summary>
    public const string WebhookPolicy = "alertmanager";

    /// <summary>The webhook's scheme and policy; the token is <see cref="AlertWebhookOptions.Token"/>.</summary>
    public static IServiceCollection AddAlertWebhookAuthentication(this IServiceCollection services)
    {
        // No subject: the webhook's rate limit counts each Alertmanager (address) on its own.
        services.AddAuthentication().AddSharedToken<IOptions<AlertWebhookOptions>>(WebhookScheme, (options, webhook) => options.Token = webhook.Value.Token);
        services.AddAuthorizationBuilder()
            .AddPolicy(WebhookPolicy, policy => policy.AddAuthenticationSchemes(WebhookScheme).RequireAuthenticatedUser());
        return services;
    }

    public static RouteGroupBuilder MapAlertsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/monitoring/alerts").WithTags("Alerts");
        api.MapPost("/webhook", ReceiveAsync).WithName("AlertmanagerWebhook")
            .WithSummary("Alertmanager webhook (version 4), authenticated with a bearer token")
            .Accepts<AlertmanagerPayload>("application/json")
            .DisableAntiforgery()
            .RequireAuthorization(WebhookPolicy)
            .RequireRateLimiting(RateLimiting.WebhookPolicy);
        api.MapGet("/", ListAsync).WithName("ListAlerts").WithSummary("Active and recent alerts, with their incident timeline")
            .ProducesValidationProblem()
            .RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        return api;
    }

    public static async Task<Results<Ok<WebhookResult>, ProblemHttpResult>> ReceiveAsync(
        HttpContext context, AlertStore store, OrchestratorMetrics metrics, ILogger<AlertStore> logger)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return Problems.TooLargeProblem(MaxBodyBytes);
        }

        var body = await ReadBodyAsync(context.Request.Body, context.RequestAborted);
        if (body is null)
        {
            return Problems.TooLargeProblem(MaxBodyBytes);
        }

        AlertmanagerPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize(body, AlertmanagerJsonContext.Default.AlertmanagerPayload);
        }
        catch (JsonException exception)
        {
            metrics.Error("webhook", "invalid_json");
            return Problems.InvalidPayloadProblem($"The body is not valid JSON for Alertmanager's webhook: {Describe(exception)}");
        }

        if (Validate(payload, out var alerts) is { } error)
        {
            metrics.Error("webhook", "invalid_payload");
            return Problems.InvalidPayloadProblem(error);
        }

        // Only a W3C trace context travels with the events (a hierarchical Request-Id is neither parseable downstream nor bounded).
        var traceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;
        var changed = await store.StoreAsync(alerts, traceParent, context.RequestAborted);
        foreach (var alert in changed)
        {
            metrics.AlertReceived(alert.AlertName, alert.Severity, alert.Status);
        }

        // A line per alert for the usual small notification; one summary line for a large one, so that an alert
        // storm cannot flood the logs (and slow the webhook down behind the console).
        if (changed.Count <= MaxAlertLinesPerNotification)
        {
            foreach (var alert in changed)
            {
                AlertsLog.Stored(logger, alert.AlertName, alert.Status, alert.Severity, alert.HotelId ?? "-", alert.Fingerprint);
            }
        }
        else if (logger.IsEnabled(LogLevel.Information))
        {
            var groups = changed.GroupBy(a => (a.AlertName, a.Status)).OrderByDescending(g => g.Count()).ToList();
            var summary = string.Join(", ", groups.Take(MaxSummaryGroups).Select(g => $"{g.Key.AlertName} {g.Key.Status} ×{g.Count()}"));
            AlertsLog.StoredMany(logger, changed.Count,
                groups.Count > MaxSummaryGroups ? $"{summary} and {groups.Count - MaxSummaryGroups} more" : summary);
        }

        return TypedResults.Ok(new WebhookResult(alerts.Count, changed.Count, alerts.Count - changed.Count));
    }

    public static async Task<Ok<IReadOnlyList<AlertDto>>> ListAsync(
        AlertStore store,
        [AllowedValues("firing", "resolved", null, ErrorMessage = "firing or resolved")] string? status,
        string? severity,
        string? hotel,
        [Range(1, 1000, ErrorMessage = "from 1 to 1000")] int? limit,
        CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(status, severity, hotel, limit ?? 100, cancellationToken));

    private static async Task<byte[]?> ReadBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static string? Validate(AlertmanagerPayload? payload, out List<ValidAlert> alerts)
    {
        alerts = [];
        if (payload is null)
        {
            return "The body is empty or null.";
        }

        if (payload.Version != "4")
        {
            return "Only version 4 of the webhook payload is accepted.";
        }

        if (payload.Alerts is not { Count: > 0 })
        {
            return "'alerts' must be a non-empty array.";
        }

        for (var i = 0; i < payload.Alerts.Count; i++)
        {
            var alert = payload.Alerts[i];
            var where = $"alerts[{i}]";
            if (alert is null)
            {
                return $"{where} is null.";
            }

            if (alert.Status is null || !Statuses.Contains(alert.Status))
            {
                return $"{where}.status must be firing or resolved.";
            }

            if (string.IsNullOrWhiteSpace(alert.Fingerprint) || alert.Fingerprint.Length > 64)
            {
                return $"{where}.fingerprint is required (at most 64 characters).";
            }

            if (alert.StartsAt is null)
            {
                return $"{where}.startsAt is required.";
            }

            var labels = alert.Labels ?? [];
            var annotations = alert.Annotations ?? [];
            if (!labels.TryGetValue("alertname", out var alertName) || string.IsNullOrWhiteSpace(alertName))
            {
                return $"{where}.labels.alertname is required.";
            }

            if (labels.Count > MaxLabels || annotations.Count > MaxLabels)
            {
                return $"{where} has more than {MaxLabels} labels or annotations.";
            }

            if (labels.Any(l => l.Key.Length > 128 || l.Value is null || l.Value.Length > MaxLabelValueLength)
                || annotations.Any(a => a.Key.Length > 128 || a.Value is null || a.Value.Length > MaxAnnotationValueLength))
            {
                return $"{where} has a label or annotation that is missing or too long.";
            }

            // PostgreSQL stores no NUL character, in text or in jsonb.
            if (labels.Concat(annotations).Any(p => p.Key.Contains('\0', StringComparison.Ordinal) || p.Value.Contains('\0', StringComparison.Ordinal))
                || alert.Fingerprint.Contains('\0', StringComparison.Ordinal) || alert.GeneratorUrl?.Contains('\0', StringComparison.Ordinal) == true)
            {
                return $"{where} contains a NUL character.";
            }

            // Alertmanager sends 0001-01-01 for "not ended". Times are kept as PostgreSQL keeps them: UTC, whole
            // microseconds (so that two startsAt that PostgreSQL cannot tell apart are one alert here too).
            var endsAt = alert.EndsAt is { Year: > 1 } ends ? AsStored(ends) : (DateTimeOffset?)null;
            alerts.Add(new ValidAlert(
                alert.Fingerprint,
                alert.Status,
                Truncate(alertName, 200),
                Truncate(labels.GetValueOrDefault("severity") ?? "none", 32),
                labels.GetValueOrDefault("hotel_id") is { Length: > 0 and <= 64 } hotel ? hotel : null,
                AsStored(alert.StartsAt.Value),
                endsAt,
                alert.GeneratorUrl is { Length: <= 2048 } url ? url : null,
                labels,
                annotations));
        }

        return null;
    }

    // Cut before a surrogate pair rather than through it (half a pair is not valid UTF-8).
    private static string Truncate(string value, int length) =>
        value.Length <= length ? value : value[..(char.IsHighSurrogate(value[length - 1]) ? length - 1 : length)];

    private static DateTimeOffset AsStored(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return utc.AddTicks(-(utc.Ticks % 10));
    }

    private static string Describe(JsonException exception) =>
        exception.Path is { Length: > 0 } path ? $"at {path} (line {exception.LineNumber}, byte {exception.BytePositionInLine})" : "unreadable JSON";
}

/// <summary>Section <c>AlertWebhook</c>; <c>ALERT_WEBHOOK_TOKEN</c> sets the token.</summary>
public sealed class AlertWebhookOptions
{
    public const string Section = "AlertWebhook";

    public string? Token { get; set; }
}

internal static partial class AlertsLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information,
        Message = "Alert {AlertName} {Status} (severity {Severity}, hotel {HotelId}, fingerprint {Fingerprint}) stored")]
    public static partial void Stored(ILogger logger, string alertName, string status, string severity, string hotelId, string fingerprint);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "{Count} alerts stored from one notification: {Alerts}")]
    public static partial void StoredMany(ILogger logger, int count, string alerts);
}
