using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Validation;

namespace VoiceHive.Orchestrator.Alerts;

/// <summary>
/// Alertmanager's webhook body, version 4, with the rules a notification must meet to be stored; the built-in
/// validation checks them and names each field that breaks one.
/// </summary>
// The generator finds a type by its endpoint parameters; the webhook reads its body itself (AlertsApi.ValidateAsync
// says why), so the type is named here. ASP0029: the attribute is marked for evaluation in .NET 10.
#pragma warning disable ASP0029
[ValidatableType]
#pragma warning restore ASP0029
public sealed record AlertmanagerPayload(
    [property: Required(ErrorMessage = AlertmanagerPayload.VersionRule)]
    [property: AllowedValues("4", ErrorMessage = AlertmanagerPayload.VersionRule)]
    string? Version,
    string? GroupKey,
    int? TruncatedAlerts,
    string? Status,
    string? Receiver,
    Dictionary<string, string>? GroupLabels,
    Dictionary<string, string>? CommonLabels,
    Dictionary<string, string>? CommonAnnotations,
    string? ExternalUrl,
    [property: Required(ErrorMessage = AlertmanagerPayload.AlertsRule)]
    [property: MinLength(1, ErrorMessage = AlertmanagerPayload.AlertsRule)]
    List<AlertmanagerAlert?>? Alerts) : IValidatableObject
{
    private const string VersionRule = "Required: 4, the only version of the webhook payload accepted.";
    private const string AlertsRule = "Required: a non-empty array of alerts.";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The built-in validation passes over null elements; a null alert is a broken notification.
        for (var i = 0; i < Alerts?.Count; i++)
        {
            if (Alerts[i] is null)
            {
                yield return new ValidationResult("An alert, not null.", [$"{nameof(Alerts)}[{i}]"]);
            }
        }
    }
}

/// <summary>One alert of a notification.</summary>
public sealed record AlertmanagerAlert(
    [property: Required(ErrorMessage = AlertmanagerAlert.StatusRule)]
    [property: AllowedValues("firing", "resolved", ErrorMessage = AlertmanagerAlert.StatusRule)]
    string? Status,
    Dictionary<string, string>? Labels,
    Dictionary<string, string>? Annotations,
    [property: Required(ErrorMessage = "Required: when the alert started.")]
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    string? GeneratorUrl,
    [property: Required(ErrorMessage = AlertmanagerAlert.FingerprintRule)]
    [property: MaxLength(AlertmanagerAlert.MaxFingerprintLength, ErrorMessage = AlertmanagerAlert.FingerprintRule)]
    string? Fingerprint) : IValidatableObject
{
    private const int MaxPairs = 64;
    private const int MaxKeyLength = 128;
    private const int MaxLabelValueLength = 1024;
    private const int MaxAnnotationValueLength = 16 * 1024;
    private const int MaxFingerprintLength = 64;
    private const string StatusRule = "Required: firing or resolved.";
    private const string FingerprintRule = "Required: at most 64 characters.";
    private const string NulRule = "Contains a NUL character, which cannot be stored.";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Labels?.GetValueOrDefault("alertname") is not { } alertName || string.IsNullOrWhiteSpace(alertName))
        {
            yield return new ValidationResult("Required: an alertname label.", [nameof(Labels)]);
        }

        if (Check(Labels, MaxLabelValueLength) is { } labels)
        {
            yield return new ValidationResult(labels, [nameof(Labels)]);
        }

        if (Check(Annotations, MaxAnnotationValueLength) is { } annotations)
        {
            yield return new ValidationResult(annotations, [nameof(Annotations)]);
        }

        if (HasNul(Fingerprint))
        {
            yield return new ValidationResult(NulRule, [nameof(Fingerprint)]);
        }

        if (HasNul(GeneratorUrl))
        {
            yield return new ValidationResult(NulRule, [nameof(GeneratorUrl)]);
        }
    }

    private static string? Check(Dictionary<string, string>? pairs, int maxValueLength)
    {
        if (pairs is null)
        {
            return null;
        }

        if (pairs.Count > MaxPairs)
        {
            return $"At most {MaxPairs} pairs.";
        }

        foreach (var (key, value) in pairs)
        {
            if (key.Length > MaxKeyLength || value is null || value.Length > maxValueLength)
            {
                return $"Each name at most {MaxKeyLength} characters, each value present and at most {maxValueLength}.";
            }

            if (HasNul(key) || HasNul(value))
            {
                return NulRule;
            }
        }

        return null;
    }

    // PostgreSQL stores no NUL character, in text or in jsonb.
    private static bool HasNul(string? value) => value?.Contains('\0', StringComparison.Ordinal) == true;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, MaxDepth = 16)]
[JsonSerializable(typeof(AlertmanagerPayload))]
internal sealed partial class AlertmanagerJsonContext : JsonSerializerContext;

public sealed record AlertDto(
    long Id,
    string Fingerprint,
    string AlertName,
    string Status,
    string Severity,
    string? HotelId,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    DateTimeOffset ReceivedAt,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    IReadOnlyList<AlertEventDto> Timeline);

public sealed record AlertEventDto(string Event, DateTimeOffset At, string? Detail);

public sealed record WebhookResult(int Received, int Stored, int Duplicates);
