using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class StartupFailureTests
{
    [Fact]
    public void SeveralInvalidOptionsAtStartAreOneLineNamingEach()
    {
        // What ValidateOnStart throws when two options types fail, e.g. a new deployment without the webhook token and
        // without the caller hash key.
        var failure = new AggregateException(
            new OptionsValidationException("", typeof(WebhookSettings), ["ALERT_WEBHOOK_TOKEN is not set."]),
            new OptionsValidationException("", typeof(CallSettings), ["CallerHashKey is required."]));

        var line = StartupFailures.Describe(failure);

        Assert.NotNull(line);
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("Start-up failed: ", line, StringComparison.Ordinal);
        Assert.Contains("(WebhookSettings): ALERT_WEBHOOK_TOKEN is not set.", line, StringComparison.Ordinal);
        Assert.Contains("(CallSettings): CallerHashKey is required.", line, StringComparison.Ordinal);
    }

    [Fact]
    public void AnyOtherExceptionKeepsItsStackTrace()
    {
        Assert.Null(StartupFailures.Describe(new AggregateException(new InvalidOperationException("a bug"), new OptionsValidationException("", typeof(CallSettings), ["x"]))));
        Assert.Null(StartupFailures.Describe(new NullReferenceException()));
    }

    private sealed class WebhookSettings;

    private sealed class CallSettings;
}
