using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Validation;
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
    private const int MaxAlertLinesPerNotification = 3;
    private const int MaxSummaryGroups = 10;
    private const int MaxReportedFields = 20;

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
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .DisableAntiforgery()
            // The handler validates the body itself (ValidateAsync says why); the filter would only look at HttpContext.
            .DisableValidation()
            .RequireAuthorization(WebhookPolicy)
            .RequireRateLimiting(RateLimiting.WebhookPolicy);
        api.MapGet("/", ListAsync).WithName("ListAlerts").WithSummary("Active and recent alerts, with their incident timeline")
            .ProducesValidationProblem()
            .RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        return api;
    }

    public static async Task<Results<Ok<WebhookResult>, ValidationProblem, ProblemHttpResult>> ReceiveAsync(
        HttpContext context, AlertStore store, OrchestratorMetrics metrics, IOptions<ValidationOptions> validation, ILogger<AlertStore> logger)
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

        if (payload is null)
        {
            metrics.Error("webhook", "invalid_payload");
            return Problems.InvalidPayloadProblem("The body is null; Alertmanager's webhook sends an object.");
        }

        if (await ValidateAsync(payload, validation.Value, context) is var (errors, total))
        {
            metrics.Error("webhook", "invalid_payload");
            return TypedResults.ValidationProblem(errors, total > errors.Count
                ? string.Create(CultureInfo.InvariantCulture, $"{total} fields are invalid; the first {errors.Count} are named.")
                : null);
        }

        var alerts = payload.Alerts!.Select(alert => AsValidAlert(alert!)).ToList();

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

    // Why the body is read here rather than bound as a parameter: a bound body over the limit is not a 413 on every
    // server (the limit is the server's feature), broken JSON is a 400 that does not say where, and a null body a
    // 400 meant for the developer. The rules are the payload's attributes all the same, checked by the validator
    // that minimal APIs run for a bound parameter (Microsoft.Extensions.Validation). ASP0029: its API is marked for
    // evaluation in .NET 10; this is the one place that calls it.
#pragma warning disable ASP0029
    private static async Task<(Dictionary<string, string[]> Errors, int Total)?> ValidateAsync(
        AlertmanagerPayload payload, ValidationOptions options, HttpContext context)
    {
        if (!options.TryGetValidatableTypeInfo(typeof(AlertmanagerPayload), out var rules))
        {
            throw new InvalidOperationException("The validation generator found no rules for the webhook's payload.");
        }

        var validation = new ValidateContext
        {
            ValidationOptions = options,
            ValidationContext = new ValidationContext(payload, context.RequestServices, items: null),
        };
        await rules.ValidateAsync(payload, validation, context.RequestAborted);
        if (validation.ValidationErrors is not { Count: > 0 } errors)
        {
            return null;
        }

        // A megabyte of empty alerts breaks three rules each: the answer names the first fields, not every one.
        return (errors.Take(MaxReportedFields).ToDictionary(), errors.Count);
    }
#pragma warning restore ASP0029

    private static ValidAlert AsValidAlert(AlertmanagerAlert alert)
    {
        var labels = alert.Labels!;
        var annotations = alert.Annotations ?? [];

        // Alertmanager sends 0001-01-01 for "not ended". Times are kept as PostgreSQL keeps them: UTC, whole
        // microseconds (so that two startsAt that PostgreSQL cannot tell apart are one alert here too).
        return new ValidAlert(
            alert.Fingerprint!,
            alert.Status!,
            Truncate(labels["alertname"], 200),
            Truncate(labels.GetValueOrDefault("severity") ?? "none", 32),
            labels.GetValueOrDefault("hotel_id") is { Length: > 0 and <= 64 } hotel ? hotel : null,
            AsStored(alert.StartsAt!.Value),
            alert.EndsAt is { Year: > 1 } ends ? AsStored(ends) : null,
            alert.GeneratorUrl is { Length: <= 2048 } url ? url : null,
            labels,
            annotations);
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
