using System.Globalization;
using System.Text.RegularExpressions;

namespace VoiceHive.Orchestrator.Calls;

/// <summary>What a caller wants, as the <c>intent</c> label and the API name it.</summary>
public static class Intents
{
    public const string ReservationLookup = "reservation_lookup";
    public const string Availability = "availability";
    public const string CheckOutTime = "checkout_time";
    public const string RoomService = "room_service";
    public const string TransferToPerson = "transfer";
    public const string Unknown = "unknown";
}

/// <summary>A detected intent and what the utterance said that the intent needs.</summary>
public sealed record DetectedIntent(string Intent, string? ConfirmationCode = null, DateOnly? Night = null);

/// <summary>Detects the intent of one utterance. The rule-based one can be replaced by a model-based one.</summary>
public interface IIntentClassifier
{
    DetectedIntent Classify(string utterance, DateOnly today);
}

/// <summary>Keyword rules, in order of precedence; a confirmation code always means a reservation question.</summary>
public sealed partial class RuleBasedIntentClassifier : IIntentClassifier
{
    private static readonly (string Intent, string[] Phrases)[] Rules =
    [
        (Intents.TransferToPerson, ["speak to", "talk to", "a human", "a person", "someone", "operator", "front desk", "reception", "an agent"]),
        (Intents.CheckOutTime, ["check out", "check-out", "checkout", "leave the room", "late departure"]),
        (Intents.RoomService, ["room service", "order food", "breakfast", "menu", "hungry", "something to eat", "drinks to my room"]),
        (Intents.Availability, ["available", "availability", "vacancy", "free room", "any rooms", "book a room", "a room for"]),
        (Intents.ReservationLookup, ["reservation", "booking", "confirmation", "my stay", "i booked"]),
    ];

    public DetectedIntent Classify(string utterance, DateOnly today)
    {
        var code = ConfirmationCode().Match(utterance);
        if (code.Success)
        {
            return new DetectedIntent(Intents.ReservationLookup, ConfirmationCode: code.Value.ToUpperInvariant());
        }

        var text = utterance.ToLowerInvariant();
        foreach (var (intent, phrases) in Rules)
        {
            if (phrases.Any(phrase => text.Contains(phrase, StringComparison.Ordinal)))
            {
                return intent == Intents.Availability ? new DetectedIntent(intent, Night: NightOf(text, today)) : new DetectedIntent(intent);
            }
        }

        return new DetectedIntent(Intents.Unknown);
    }

    private static DateOnly NightOf(string text, DateOnly today)
    {
        var iso = IsoDate().Match(text);
        if (iso.Success && DateOnly.TryParseExact(iso.Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        return text.Contains("tomorrow", StringComparison.Ordinal) ? today.AddDays(1) : today;
    }

    [GeneratedRegex(@"\b[A-Za-z]{2}[0-9]{4}\b", RegexOptions.CultureInvariant)]
    private static partial Regex ConfirmationCode();

    [GeneratedRegex(@"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDate();
}
