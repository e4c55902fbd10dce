extern alias traffic;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using traffic::VoiceHive.Traffic;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Traffic;

/// <summary>The traffic generator's call mix, its runtime switch and its API, and calls that fail.</summary>
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
    [InlineData(-1.0)]
    [InlineData(101.0)]
    public async Task ARateOutsideItsRangeIsRefusedNamingTheField(double rate)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var traffic = TrafficApplication.For(new Uri("http://127.0.0.1:9/"));
        using var client = traffic.CreateClient().WithToken(TestTokens.Create("operations"));

        using var refused = await client.PutAsJsonAsync("/traffic", new { running = true, callsPerSecond = rate }, cancellationToken);

        var problem = await refused.ProblemAsync(400);
        Assert.Equal(["callsPerSecond"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal("Calls per second, from 0.01 to 100.", problem.GetProperty("errors").GetProperty("callsPerSecond")[0].GetString());
        var state = traffic.Services.GetRequiredService<TrafficState>().Status();
        Assert.Equal(1, state.CallsPerSecond);
        Assert.False(state.Running);
    }

    [Fact]
    public async Task TheApiRefusesABadRateAsAValidationProblemAndTakesAGoodOne()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var traffic = TrafficApplication.For(new Uri("http://127.0.0.1:9/"));
        using var client = traffic.CreateClient().WithToken(TestTokens.Create("operations"));

        using var refused = await client.PutAsJsonAsync("/traffic", new { callsPerSecond = 500 }, cancellationToken);
        using var taken = await client.PutAsJsonAsync("/traffic", new { callsPerSecond = 2.5 }, cancellationToken);
        using var anonymous = await client.WithToken(null).GetAsync("/traffic", cancellationToken);

        var problem = await refused.ProblemAsync(400);
        Assert.Equal("https://voicehive.dev/problems/validation", problem.GetProperty("type").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("callsPerSecond", out _));
        Assert.Equal(2.5, (await taken.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("callsPerSecond").GetDouble());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task CallsThatFailAreCountedAndTheTrafficGoesOn()
    {
        // An orchestrator that answers nothing but 500s (the resilience pipeline retries, then its circuit opens), then
        // one that drops every connection.
        await using var failing = await ProgrammableHttpServer.StartAsync();
        failing.Fallback = context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        };
        await using var traffic = TrafficApplication.For(failing.Address, running: true, callsPerSecond: 20);
        var state = traffic.Services.GetRequiredService<TrafficState>();

        await Eventually.Until(() => Task.FromResult(state.Status().CallsFailed), failed => failed >= 3,
            "calls to fail against the failing orchestrator", cancellationToken: TestContext.Current.CancellationToken);
        failing.Fallback = context =>
        {
            context.Abort();
            return Task.CompletedTask;
        };
        var before = state.Status().CallsFailed;
        var after = await Eventually.Until(() => Task.FromResult(state.Status().CallsFailed), failed => failed >= before + 3,
            "calls to go on failing once the orchestrator is gone", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, state.Status().CallsCompleted);
        Assert.True(state.Status().Running);
        Assert.True(after > before);
    }
}
