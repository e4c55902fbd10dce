extern alias orchestrator;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using PmsSimulatorSettings = orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings;
using SimulatorProfile = orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile;

namespace VoiceHive.Tests.Orchestrator;

public sealed class CallsApiTests(SharedServers servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StartingACallAnswers201WithItsLocationAndNoCallerNumber()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/calls",
            new { hotelId = "grand-plaza", callerNumber = OrchestratorDriver.CallerNumber, language = "en-GB" }, Token);
        var body = await response.Content.ReadAsStringAsync(Token);
        var call = JsonDocument.Parse(body).RootElement;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/calls/{call.GetProperty("id").GetGuid()}", response.Headers.Location?.ToString());
        Assert.Equal("active", call.GetProperty("status").GetString());
        Assert.Equal("+44********23", call.GetProperty("callerMasked").GetString());
        Assert.DoesNotContain("7700900", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidStartNamesEveryInvalidField()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/calls", new { hotelId = "Grand Plaza!", callerNumber = "07700 900123", language = "" }, Token);
        var problem = await response.ProblemAsync(400);

        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("hotelId", out _));
        Assert.True(errors.TryGetProperty("callerNumber", out _));
        Assert.True(errors.TryGetProperty("language", out _));
    }

    [Fact]
    public async Task AnUnknownHotelIsUnprocessable()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/calls", new { hotelId = "no-such-hotel", callerNumber = "+14155550100", language = "en" }, Token);
        var problem = await response.ProblemAsync(422);

        Assert.True(problem.GetProperty("errors").TryGetProperty("hotelId", out _));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"hotelId\": 42}")]
    [InlineData("")]
    public async Task AMalformedBodyIsABadRequest(string body)
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/calls", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Token);

        await response.ProblemAsync(400);
    }

    [Fact]
    public async Task AReservationQuestionIsAnsweredFromThePms()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var turn = await client.TurnAsync(call, "Hi, can you check my reservation GR1042?");

        Assert.Equal(1, turn.GetProperty("sequence").GetInt32());
        Assert.Equal("reservation_lookup", turn.GetProperty("intent").GetString());
        Assert.StartsWith("Your reservation GR1042 is confirmed", turn.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.False(turn.GetProperty("transferToFrontDesk").GetBoolean());
    }

    [Theory]
    [InlineData("Do you have any rooms available tomorrow?", "availability", "For the night of")]
    [InlineData("What time is check-out?", "checkout_time", "Check-out is until 11:00")]
    [InlineData("I'd like to order room service", "room_service", "Room service is available")]
    [InlineData("Can I speak to a person please", "transfer", "transferring you")]
    [InlineData("Blah blah", "unknown", "Sorry, I didn't catch that")]
    [InlineData("I want to check my booking", "reservation_lookup", "What is your confirmation code")]
    public async Task EachIntentGetsItsReply(string utterance, string intent, string replyStart)
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var turn = await client.TurnAsync(call, utterance);

        Assert.Equal(intent, turn.GetProperty("intent").GetString());
        Assert.Contains(replyStart, turn.GetProperty("reply").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APmsFailureOffersTheFrontDeskAndFailsTheCall()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();
        app.Services.GetRequiredService<PmsSimulatorSettings>().Set(OrchestratorDriver.Hotel, new SimulatorProfile(0, 0, 1));

        var turn = await client.TurnAsync(call, "Is reservation GR1001 confirmed?");
        var ended = await client.EndAsync(call, "transferred");

        Assert.True(turn.GetProperty("transferToFrontDesk").GetBoolean());
        Assert.Contains("front desk", turn.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.False(ended.GetProperty("succeeded").GetBoolean());
        Assert.Equal("pms_unavailable", ended.GetProperty("failureReason").GetString());
    }

    [Fact]
    public async Task TwoUnknownUtterancesInARowAreHandedToThFrontDesk()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var first = await client.TurnAsync(call, "mmm");
        var second = await client.TurnAsync(call, "hmm what");

        Assert.False(first.GetProperty("transferToFrontDesk").GetBoolean());
        Assert.True(second.GetProperty("transferToFrontDesk").GetBoolean());
    }

    [Fact]
    public async Task EndingGivesTheSummaryAndTheRecordKeepsTheTranscript()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();
        await client.TurnAsync(call, "What time is check-out?");
        await client.TurnAsync(call, "Thanks, and room service?");

        var summary = await client.EndAsync(call, "abandoned");
        var record = await client.GetFromJsonAsync<JsonElement>($"/api/calls/{call}", Token);

        Assert.True(summary.GetProperty("succeeded").GetBoolean());
        Assert.Equal("abandoned", summary.GetProperty("outcome").GetString());
        Assert.Equal(2, summary.GetProperty("turns").GetInt32());
        Assert.True(summary.GetProperty("durationSeconds").GetDouble() >= 0);
        Assert.Equal("ended", record.GetProperty("status").GetString());
        var transcript = record.GetProperty("transcript").EnumerateArray().ToList();
        Assert.Equal(["What time is check-out?", "Thanks, and room service?"], transcript.Select(t => t.GetProperty("utterance").GetString()));
    }

    [Fact]
    public async Task ADroppedCallIsAFailure()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var summary = await client.EndAsync(call, "dropped");

        Assert.False(summary.GetProperty("succeeded").GetBoolean());
        Assert.Equal("dropped", summary.GetProperty("failureReason").GetString());
    }

    [Fact]
    public async Task UnknownCallsAre404AndEndedCallsRefuseTurnsAndEnds()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var unknown = Guid.NewGuid();
        var call = await client.StartCallAsync();
        await client.EndAsync(call, "resolved");

        await (await client.PostAsJsonAsync($"/api/calls/{unknown}/turns", new { utterance = "hello" }, Token)).ProblemAsync(404);
        await (await client.PostAsJsonAsync($"/api/calls/{unknown}/end", new { outcome = "resolved" }, Token)).ProblemAsync(404);
        await (await client.GetAsync($"/api/calls/{unknown}", Token)).ProblemAsync(404);
        await (await client.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance = "hello" }, Token)).ProblemAsync(409);
        await (await client.PostAsJsonAsync($"/api/calls/{call}/end", new { outcome = "resolved" }, Token)).ProblemAsync(409);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task AnEmptyUtteranceIsInvalid(string? utterance)
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var problem = await (await client.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance }, Token)).ProblemAsync(400);

        Assert.True(problem.GetProperty("errors").TryGetProperty("utterance", out _));
    }

    [Fact]
    public async Task AnOverlongUtteranceOrAnUnknownOutcomeIsInvalid()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var longTurn = await (await client.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance = new string('a', 2001) }, Token)).ProblemAsync(400);
        var badEnd = await (await client.PostAsJsonAsync($"/api/calls/{call}/end", new { outcome = "happy" }, Token)).ProblemAsync(400);

        Assert.True(longTurn.GetProperty("errors").TryGetProperty("utterance", out _));
        Assert.True(badEnd.GetProperty("errors").TryGetProperty("outcome", out _));
    }

    [Fact]
    public async Task AnotherReplicaContinuesTheCallAndLostRedisStateIsRebuilt()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var first = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        await using var second = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();
        var call = await firstClient.StartCallAsync();
        await firstClient.TurnAsync(call, "What time is check-out?");

        var onOtherReplica = await secondClient.TurnAsync(call, "And room service?");
        await first.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase().KeyDeleteAsync($"voicehive:call:{call:N}");
        var afterLoss = await firstClient.TurnAsync(call, "Can I talk to someone?");

        Assert.Equal(2, onOtherReplica.GetProperty("sequence").GetInt32());
        Assert.Equal(3, afterLoss.GetProperty("sequence").GetInt32());
    }

    [Fact]
    public async Task RedisDownAnswers503WithRetryAfter()
    {
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), redis.ConnectionString);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        await redis.StopAsync();
        using var start = await client.PostAsJsonAsync("/api/calls", new { hotelId = "grand-plaza", callerNumber = "+14155550100", language = "en" }, Token);
        using var turn = await client.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance = "check-out?" }, Token);

        foreach (var response in (HttpResponseMessage[])[start, turn])
        {
            var problem = await response.ProblemAsync(503);
            Assert.Equal("https://voicehive.dev/problems/dependency-unavailable", problem.GetProperty("type").GetString());
            Assert.True(response.Headers.RetryAfter is not null);
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheApi()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();

        var document = await client.GetStringAsync("/openapi/v1.json", Token);

        foreach (var path in (string[])["/api/calls", "/api/calls/{id}/turns", "/api/calls/{id}/end", "/monitoring/alerts/webhook", "/monitoring/sla"])
        {
            Assert.Contains($"\"{path}\"", document, StringComparison.Ordinal);
        }
    }
}
