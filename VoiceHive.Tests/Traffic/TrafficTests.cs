extern alias traffic;

using traffic::VoiceHive.Traffic;

namespace VoiceHive.Tests.Traffic;

/// <summary>The traffic generator's call mix and its runtime switch.</summary>
public sealed class TrafficTests
{
    [Fact]
    public void TheMixCoversEveryHotelAndIntentAndDropsLinesOnlyAsOftenAsAsked()
    {
        var random = new Random(42);

        var calls = Enumerable.Range(0, 2000).Select(_ => CallScript.Next(random, droppedShare: 0)).ToList();
        var dropped = Enumerable.Range(0, 2000).Count(_ => CallScript.Next(random, droppedShare: 0.5).Outcome == "dropped");

        Assert.Equal(["alpine-lodge", "city-central", "grand-plaza", "harbor-view"], calls.Select(c => c.HotelId).Distinct().Order());
        Assert.DoesNotContain(calls, c => c.Outcome == "dropped");
        Assert.All(calls, c => Assert.InRange(c.Utterances.Count, 1, 3));
        Assert.All(calls, c => Assert.Matches(@"^\+447700900\d{3}$", c.CallerNumber));
        Assert.Contains(calls, c => c.Utterances.Any(u => u.Contains("reservation GR", StringComparison.Ordinal)));
        Assert.InRange(dropped, 800, 1200);
    }

    [Fact]
    public void AChangeIsSignalledAndKeepsWhatItDoesNotName()
    {
        var state = new TrafficState(new TrafficOptions { CallsPerSecond = 1, Running = true });
        var signals = 0;
        state.Changed += () => signals++;

        state.Set(running: false, callsPerSecond: null);
        state.Set(running: null, callsPerSecond: 2.5);
        state.CallStarted();
        state.CallFailed();

        Assert.Equal(new TrafficStatus(Running: false, CallsPerSecond: 2.5, CallsStarted: 1, CallsCompleted: 0, CallsFailed: 1), state.Status());
        Assert.Equal(2, signals);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(101.0)]
    [InlineData(double.NaN)]
    public void ARateOutsideItsRangeIsRefusedNamingTheField(double rate)
    {
        var state = new TrafficState(new TrafficOptions());

        var result = TrafficApi.Update(new TrafficUpdate(null, rate), state);

        var problem = Assert.IsType<Microsoft.AspNetCore.Http.HttpResults.ValidationProblem>(result.Result);
        Assert.Contains("callsPerSecond", problem.ProblemDetails.Errors.Keys);
        Assert.Equal(1, state.CallsPerSecond);
    }
}
