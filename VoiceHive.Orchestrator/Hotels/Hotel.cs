namespace VoiceHive.Orchestrator.Hotels;

/// <summary>A hotel whose phone line VoiceHive answers.</summary>
public sealed class Hotel
{
    public required string Id { get; init; }

    public required string Name { get; set; }

    /// <summary>IANA time zone of the property, for check-out times and hourly reports.</summary>
    public required string TimeZone { get; set; }

    public DateTimeOffset CreatedAt { get; init; }
}
