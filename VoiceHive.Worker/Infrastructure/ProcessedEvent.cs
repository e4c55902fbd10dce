namespace VoiceHive.Worker.Infrastructure;

/// <summary>
/// An event whose effect has been committed, recorded in the same transaction as the effect, so a
/// redelivered event is recognised and its effect not applied twice.
/// </summary>
public sealed class ProcessedEvent
{
    public required Guid EventId { get; init; }

    /// <summary>The handler that applied it: one event can have an effect per handler.</summary>
    public required string Handler { get; init; }

    public DateTimeOffset ProcessedAt { get; init; }
}
