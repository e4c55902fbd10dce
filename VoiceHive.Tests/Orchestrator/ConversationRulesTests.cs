extern alias orchestrator;

using orchestrator::VoiceHive.Orchestrator.Calls;
using orchestrator::VoiceHive.Orchestrator.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

public sealed class ConversationRulesTests
{
    private static readonly DateOnly Today = new(2026, 11, 22);
    private readonly RuleBasedIntentClassifier _classifier = new();

    [Theory]
    [InlineData("my code is gr1042", "reservation_lookup")]
    [InlineData("I'd like to talk to someone about my reservation", "transfer")]
    [InlineData("When is checkout?", "checkout_time")]
    [InlineData("Can I get breakfast in my room", "room_service")]
    [InlineData("Is there a room available on 2026-12-31?", "availability")]
    [InlineData("I booked a stay last week, my reservation please", "reservation_lookup")]
    [InlineData("The weather is nice", "unknown")]
    public void IntentsAreDetectedByRule(string utterance, string intent)
    {
        Assert.Equal(intent, _classifier.Classify(utterance, Today).Intent);
    }

    [Theory]
    [InlineData("rooms available tonight?", "2026-11-22")]
    [InlineData("rooms available tomorrow?", "2026-11-23")]
    [InlineData("rooms available on 2026-12-31?", "2026-12-31")]
    public void TheNightAskedAboutIsRead(string utterance, string night)
    {
        Assert.Equal(DateOnly.Parse(night, System.Globalization.CultureInfo.InvariantCulture), _classifier.Classify(utterance, Today).Night);
    }

    [Fact]
    public void AConfirmationCodeIsReadInUpperCase() =>
        Assert.Equal("GR1042", _classifier.Classify("code gr1042 please", Today).ConfirmationCode);

    [Theory]
    [InlineData("resolved", false, false, true, "resolved", null)]
    [InlineData("transferred", false, false, true, "transferred", null)]
    [InlineData("abandoned", false, false, true, "abandoned", null)]
    [InlineData("dropped", false, false, false, null, "dropped")]
    [InlineData("resolved", true, false, false, null, "system_error")]
    [InlineData("resolved", false, true, false, null, "pms_unavailable")]
    [InlineData("abandoned", false, true, false, null, "pms_unavailable")]
    [InlineData("dropped", true, true, false, null, "dropped")]
    public void OutcomesCountForTheSlaAsDefined(string reported, bool hadError, bool pmsFailed, bool succeeded, string? outcome, string? reason)
    {
        Assert.Equal(new CallResult(succeeded, outcome, reason), CallOutcomes.Evaluate(reported, hadError, pmsFailed));
    }

    [Theory]
    [InlineData("+447700900123", true)]
    [InlineData("+14155550100", true)]
    [InlineData("+441234", false)]
    [InlineData("+0447700900123", false)]
    [InlineData("447700900123", false)]
    [InlineData("+44 7700 900123", false)]
    [InlineData("+4477009001234567", false)]
    [InlineData(null, false)]
    public void CallerNumbersMustBeE164(string? number, bool valid) => Assert.Equal(valid, new System.ComponentModel.DataAnnotations.RegularExpressionAttribute(CallerPrivacy.E164Pattern).IsValid(number) && number is not null);

    [Fact]
    public void TheMaskKeepsOnlyTheCountryPrefixAndTheLastTwoDigits() =>
        Assert.Equal("+44********23", CallerPrivacy.Mask("+447700900123"));
}
