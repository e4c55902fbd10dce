namespace VoiceHive.Traffic;

/// <summary>
/// One simulated caller: a hotel (grand-plaza twice as often as the others), one to three utterances across the
/// intents the orchestrator knows (and some it does not), and how the call ends: mostly resolved, some transferred
/// or abandoned (not failures), and a dropped line with the given probability (a failure the telephony reports).
/// </summary>
public sealed record CallScript(string HotelId, string CallerNumber, IReadOnlyList<string> Utterances, string Outcome)
{
    private static readonly (string Hotel, string Prefix)[] Hotels =
        [("grand-plaza", "GR"), ("grand-plaza", "GR"), ("harbor-view", "HA"), ("alpine-lodge", "AL"), ("city-central", "CI")];

    private static readonly string[] Availability =
        ["Do you have any rooms available tomorrow?", "Is there a room available tonight?", "I'd like to book a room for tomorrow"];

    private static readonly string[] CheckOut = ["What time is check-out?", "When do I have to leave the room?", "Can I have a late checkout?"];

    private static readonly string[] RoomService = ["I'd like to order room service", "Can I get breakfast in my room?", "Is the menu available late?"];

    private static readonly string[] Other = ["Can I speak to someone at the front desk?", "Hmm, the weather is nice", "Thank you, that's all"];

    private static readonly string[] Outcomes = ["resolved", "resolved", "resolved", "resolved", "resolved", "resolved", "transferred", "abandoned", "abandoned"];

    public static CallScript Next(Random random, double droppedShare)
    {
        var (hotel, prefix) = Hotels[random.Next(Hotels.Length)];
        var utterances = Enumerable.Range(0, 1 + random.Next(3)).Select(_ => random.Next(6) switch
        {
            0 or 1 => $"Can you check my reservation {prefix}{1000 + random.Next(500)}?",
            2 => Pick(random, Availability),
            3 => Pick(random, CheckOut),
            4 => Pick(random, RoomService),
            _ => Pick(random, Other),
        }).ToList();
        // Numbers of the UK's drama range (+44 7700 900000 to 900999): never a real subscriber.
        var outcome = random.NextDouble() < droppedShare ? "dropped" : Pick(random, Outcomes);
        return new CallScript(hotel, $"+447700900{random.Next(1000):D3}", utterances, outcome);
    }

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];
}
