namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// The port to a hotel's property-management system. Adapters: <see cref="HttpPropertyManagementSystem"/>
/// for a real PMS (when <c>services:pms</c> is configured) and <see cref="SimulatedPropertyManagementSystem"/>.
/// An adapter throws <see cref="PmsUnavailableException"/> when the PMS cannot answer.
/// </summary>
public interface IPropertyManagementSystem
{
    /// <summary>The reservation, or null when the PMS knows no such confirmation code.</summary>
    Task<Reservation?> FindReservationAsync(string hotelId, string confirmationCode, CancellationToken cancellationToken);

    Task<IReadOnlyList<RoomAvailability>> GetAvailabilityAsync(string hotelId, DateOnly night, CancellationToken cancellationToken);
}

/// <summary>A reservation as the caller may hear it read back: no guest name, no payment data.</summary>
public sealed record Reservation(string ConfirmationCode, DateOnly Arrival, DateOnly Departure, string RoomType, string Status);

public sealed record RoomAvailability(string RoomType, int Available, decimal NightlyRate, string Currency);

/// <summary>The PMS could not answer: unreachable, erroring, or too slow.</summary>
public sealed class PmsUnavailableException(string errorType, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>Low-cardinality cause, for metrics and spans: <c>timeout</c>, <c>connection</c>, <c>http_503</c>, <c>simulated</c>…</summary>
    public string ErrorType { get; } = errorType;
}

/// <summary>The operations, as the <c>operation</c> label of <c>voicehive_pms_response_seconds</c> names them.</summary>
public static class PmsOperations
{
    public const string ReservationLookup = "reservation_lookup";
    public const string Availability = "availability";
}
