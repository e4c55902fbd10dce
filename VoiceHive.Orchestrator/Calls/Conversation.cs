using System.Globalization;
using VoiceHive.Orchestrator.Pms;

namespace VoiceHive.Orchestrator.Calls;

/// <summary>
/// Answers one detected intent: asks the PMS where the intent needs it, and falls back to the front
/// desk when the PMS cannot answer. The reply text is what the caller hears.
/// </summary>
public sealed class Conversation(PmsClient pms, DegradedHotels degraded, LastKnownReservations lastKnown, Infrastructure.OrchestratorMetrics metrics)
{
    public const string CheckOutTime = "11:00";
    private const string FrontDeskFallback = "I'm sorry, I can't reach our reservation system right now. Let me transfer you to the front desk, they will help you straight away.";

    public async Task<TurnAnswer> AnswerAsync(ActiveCallState call, DetectedIntent detected, CancellationToken cancellationToken) =>
        detected.Intent switch
        {
            Intents.ReservationLookup when detected.ConfirmationCode is null =>
                new TurnAnswer("Of course. What is your confirmation code? It has two letters and four digits.", false, null),
            Intents.ReservationLookup => await ReservationAsync(call.HotelId, detected.ConfirmationCode!, cancellationToken),
            Intents.Availability => await AvailabilityAsync(call.HotelId, detected.Night!.Value, cancellationToken),
            Intents.CheckOutTime => new TurnAnswer(
                $"Check-out is until {CheckOutTime}. If you need a late check-out, the front desk can arrange it.", false, null),
            Intents.RoomService => new TurnAnswer(
                "Room service is available from 6:30 to 23:00. You can order by dialling 5 from your room, or I can connect you now.", false, null),
            Intents.TransferToPerson => new TurnAnswer("Of course, I'm transferring you to the front desk now.", true, null),
            _ when call.UnknownStreak >= 1 => new TurnAnswer("Let me transfer you to a colleague at the front desk.", true, null),
            _ => new TurnAnswer(
                "Sorry, I didn't catch that. I can help with a reservation, room availability, check-out or room service.", false, null),
        };

    private async Task<TurnAnswer> ReservationAsync(string hotelId, string code, CancellationToken cancellationToken)
    {
        var result = await pms.FindReservationAsync(hotelId, code, cancellationToken);
        if (result.Failed)
        {
            // Degraded mode: a reservation read back from the last answer is safe to repeat, and the caller is served.
            if (degraded.IsDegraded(hotelId) && await lastKnown.RecallAsync(hotelId, code) is { } remembered)
            {
                metrics.FallbackAnswer(hotelId, PmsOperations.ReservationLookup);
                return new TurnAnswer(
                    "Our reservation system is slow right now, so this is from our latest records: " + Describe(remembered), false,
                    result.AsRecord() with { Failed = false });
            }

            return new TurnAnswer(FrontDeskFallback, true, result.AsRecord());
        }

        if (result.Value is { } found)
        {
            await lastKnown.RememberAsync(hotelId, found);
        }

        var reply = result.Value is { } reservation
            ? Describe(reservation)
            : $"I couldn't find a reservation with the code {code}. Could you check it and read it to me again?";
        return new TurnAnswer(reply, false, result.AsRecord());
    }

    private static string Describe(Reservation reservation) => string.Create(CultureInfo.InvariantCulture,
        $"Your reservation {reservation.ConfirmationCode} is {reservation.Status}: a {reservation.RoomType} room from {reservation.Arrival:MMMM d} to {reservation.Departure:MMMM d}.");

    private async Task<TurnAnswer> AvailabilityAsync(string hotelId, DateOnly night, CancellationToken cancellationToken)
    {
        var result = await pms.GetAvailabilityAsync(hotelId, night, cancellationToken);
        if (result.Failed)
        {
            return new TurnAnswer(FrontDeskFallback, true, result.AsRecord());
        }

        var open = result.Value!.Where(room => room.Available > 0).OrderBy(room => room.NightlyRate).ToList();
        var date = night.ToString("MMMM d", CultureInfo.InvariantCulture);
        var reply = open.Count == 0
            ? $"I'm sorry, we are fully booked on the night of {date}."
            : $"For the night of {date} we have " + string.Join(", ", open.Select(room =>
                string.Create(CultureInfo.InvariantCulture, $"{room.RoomType} rooms from {room.NightlyRate:0} {room.Currency}"))) + ". Shall I book one?";
        return new TurnAnswer(reply, false, result.AsRecord());
    }
}

/// <summary>The reply, whether the caller is handed to the front desk, and the PMS request made for it, if any.</summary>
public sealed record TurnAnswer(string Reply, bool TransferToFrontDesk, PmsRequestRecord? PmsRequest);

/// <summary>A PMS request as stored for the SLA report.</summary>
public sealed record PmsRequestRecord(string Operation, string Outcome, double DurationSeconds, bool Failed);

internal static class PmsCallExtensions
{
    public static PmsRequestRecord AsRecord<T>(this PmsCall<T> call) =>
        new(call.Operation, call.Outcome, call.Elapsed.TotalSeconds, call.Failed);
}
