using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoiceHive.Orchestrator.Alerts;

/// <summary>Alertmanager's webhook body, version 4.</summary>
public sealed record AlertmanagerPayload(
    string? Version,
    string? GroupKey,
    int? TruncatedAlerts,
    string? Status,
    string? Receiver,
    Dictionary<string, string>? GroupLabels,
    Dictionary<string, string>? CommonLabels,
    Dictionary<string, string>? CommonAnnotations,
    string? ExternalUrl,
    List<AlertmanagerAlert?>? Alerts);

public sealed record AlertmanagerAlert(
    string? Status,
    Dictionary<string, string>? Labels,
    Dictionary<string, string>? Annotations,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    string? GeneratorUrl,
    string? Fingerprint);

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
