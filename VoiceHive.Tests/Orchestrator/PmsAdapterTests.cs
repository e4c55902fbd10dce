extern alias orchestrator;

using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using PmsSimulatorSettings = orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings;
using SimulatorProfile = orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>
/// The orchestrator against a PMS vendor's HTTP API (a loopback fake speaking that API) when
/// <c>services:pms:http:0</c> is configured, and the simulator's Development-only admin endpoint, whose changes
/// every replica takes.
/// </summary>
public sealed class PmsAdapterTests(SharedServers servers)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AConfiguredPmsIsAskedOverHttp()
    {
        await using var vendor = await ProgrammableHttpServer.StartAsync();
        vendor.Fallback = context => context.Request.Path.StartsWithSegments("/hotels/grand-plaza/reservations/GR7777", StringComparison.Ordinal)
            ? context.Response.WriteAsJsonAsync(new { confirmationCode = "GR7777", arrival = "2026-12-24", departure = "2026-12-27", roomType = "suite", status = "confirmed" })
            : WriteStatus(context, 404);
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["services:pms:http:0"] = vendor.Address.ToString() });
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var found = await client.TurnAsync(call, "Reservation GR7777 please");
        var missing = await client.TurnAsync(call, "And GR1234?");

        Assert.Equal("Your reservation GR7777 is confirmed: a suite room from December 24 to December 27.", found.GetProperty("reply").GetString());
        Assert.StartsWith("I couldn't find a reservation with the code GR1234", missing.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Contains(vendor.Requests, r => r.Path == "/hotels/grand-plaza/reservations/GR7777");
    }

    [Fact]
    public async Task AFailingPmsVendorGetsTheFrontDeskFallback()
    {
        await using var vendor = await ProgrammableHttpServer.StartAsync();
        vendor.Fallback = context => WriteStatus(context, 503);
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["services:pms:http:0"] = vendor.Address.ToString(),
                ["HttpResilience:Retry:Delay"] = "00:00:00.010",
            });
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        var turn = await client.TurnAsync(call, "Any rooms available tomorrow?");
        var metrics = Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation));

        Assert.True(turn.GetProperty("transferToFrontDesk").GetBoolean());
        Assert.Equal(1, metrics.Sum("voicehive_errors_total", ("component", "pms"), ("error_type", "http_503")));
        Assert.Equal(1, metrics.Sum("voicehive_pms_response_seconds_count", ("operation", "availability"), ("outcome", "error")));
        Assert.True(vendor.Requests.Count > 1, "GET requests are retried before giving up");
    }

    [Fact]
    public async Task TheSimulatorAdminEndpointNeedsAnOperationsToken()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var update = new { hotelId = "grand-plaza", latencyMedianMs = 0, latencyP95Ms = 0, failureRate = 1.0 };

        using var anonymous = await Send(app, update, token: null);
        using var callChannel = await Send(app, update, TestTokens.Create("calls"));
        using var invalid = await Send(app, new { latencyMedianMs = 10, latencyP95Ms = 5, failureRate = 2.0 }, TestTokens.Create("operations"));
        using var accepted = await Send(app, update, TestTokens.Create("operations"));
        var call = await client.StartCallAsync();
        var turn = await client.TurnAsync(call, "Reservation GR1001?");

        await anonymous.ProblemAsync(401);
        await callChannel.ProblemAsync(403);
        var problem = await invalid.ProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("failureRate", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("latencyP95Ms", out _));
        accepted.EnsureSuccessStatusCode();
        Assert.True(turn.GetProperty("transferToFrontDesk").GetBoolean());
    }

    [Fact]
    public async Task EveryReplicaTakesASimulatorChangeAndOneStartedLaterFindsIt()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var first = await OrchestratorDriver.StartAsync(servers, database: database);
        await using var second = await OrchestratorDriver.StartAsync(servers, database: database);
        var fault = new { hotelId = "harbor-view", latencyMedianMs = 100, latencyP95Ms = 200, failureRate = 0.5 };

        using var injected = await Send(first, fault, TestTokens.Create("operations"));
        var onSecond = await Eventually.Until(() => Task.FromResult(Simulator(second).For("harbor-view")), profile => profile.FailureRate == 0.5,
            "the other replica to take the fault", cancellationToken: Cancellation);
        await using var third = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        var onThird = await Eventually.Until(() => Task.FromResult(Simulator(third).For("harbor-view")), profile => profile.FailureRate == 0.5,
            "a replica started later to load the fault", cancellationToken: Cancellation);
        using var cleared = await SendDelete(second, TestTokens.Create("operations"));
        await Eventually.Until(() => Task.FromResult(Simulator(first).Hotels.Count == 0 && Simulator(third).Hotels.Count == 0),
            "every replica to clear the fault", cancellationToken: Cancellation);

        injected.EnsureSuccessStatusCode();
        cleared.EnsureSuccessStatusCode();
        Assert.Equal(new SimulatorProfile(100, 200, 0.5), onSecond);
        Assert.Equal(new SimulatorProfile(100, 200, 0.5), onThird);
        Assert.Equal(SimulatorProfile.Normal, Simulator(first).For("harbor-view"));
    }

    [Fact]
    public async Task ChangesMadeAtOnceThroughDifferentReplicasEndTheSameOnEvery()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var first = await OrchestratorDriver.StartAsync(servers, database: database);
        await using var second = await OrchestratorDriver.StartAsync(servers, database: database);
        var token = TestTokens.Create("operations");

        // 12 changes at once, alternating between the replicas, each a different failure rate for all hotels.
        var changes = await Task.WhenAll(Enumerable.Range(1, 12).Select(i => Send(i % 2 == 0 ? first : second,
            new { hotelId = (string?)null, latencyMedianMs = 0, latencyP95Ms = 0, failureRate = i / 100.0 }, token)));

        var agreed = await Eventually.Until(
            () => Task.FromResult((First: Simulator(first).Default.FailureRate, Second: Simulator(second).Default.FailureRate)),
            rates => rates.First == rates.Second, "both replicas to agree", cancellationToken: Cancellation);
        Assert.All(changes, change => change.EnsureSuccessStatusCode());
        Assert.Contains(agreed.First, Enumerable.Range(1, 12).Select(i => i / 100.0));
        // And they stay agreed: what each holds is what is stored, not whichever notice came last.
        await Task.Delay(TimeSpan.FromMilliseconds(300), Cancellation);
        Assert.Equal(Simulator(first).Default, Simulator(second).Default);
        foreach (var change in changes)
        {
            change.Dispose();
        }
    }

    [Fact]
    public async Task ASessionKeepsItsSimulatorStateToItself()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        Dictionary<string, string?> Session(string name) => new() { ["Pms:Simulator:Session"] = name };
        await using var thisRun = await OrchestratorDriver.StartAsync(servers, Session("run-1"), database);
        await using var otherRun = await OrchestratorDriver.StartAsync(servers, Session("run-2"), database);

        using var injected = await Send(thisRun, new { hotelId = "alpine-lodge", latencyMedianMs = 10, latencyP95Ms = 20, failureRate = 1.0 }, TestTokens.Create("operations"));
        await using var laterInThisRun = OrchestratorApplication.For(database, servers.Redis.ConnectionString, Session("run-1"));
        var loaded = await Eventually.Until(() => Task.FromResult(Simulator(laterInThisRun).For("alpine-lodge")), profile => profile.FailureRate == 1.0,
            "a replica of the same session started later to load the fault", cancellationToken: Cancellation);

        injected.EnsureSuccessStatusCode();
        Assert.Equal(new SimulatorProfile(10, 20, 1.0), loaded);
        // Running all along, it would have had the notice (and the change) by now if the sessions were one.
        Assert.Empty(Simulator(otherRun).Hotels);
        var stored = await StoredSimulatorTimeToLive(database, "run-1");
        Assert.InRange(stored!.Value, TimeSpan.FromDays(6), TimeSpan.FromDays(7));
    }

    [Fact]
    public async Task AStoredProfileItCannotReadLeavesAReplicaStartingOnItsOwn()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.ConnectionString))
        {
            await redis.GetDatabase().StringSetAsync($"{EventStreams.Of(database)}:pms-simulator:corrupt", "{not json");
        }

        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["Pms:Simulator:Session"] = "corrupt" });
        using var client = app.CreateClient();
        using var alive = await client.GetAsync("/alive", Cancellation);

        // Before, the JsonException escaped the background service at start, and the host stopped.
        Assert.True(alive.IsSuccessStatusCode);
        Assert.Empty(Simulator(app).Hotels);
    }

    [Theory]
    [InlineData("/admin/pms-simulator")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/scalar")]
    public async Task DevelopmentOnlyEndpointsDoNotExistElsewhere(string path)
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ALERT_WEBHOOK_TOKEN"] = "t",
                ["Monitoring:ScrapeToken"] = "s",
                ["Calls:CallerHashKey"] = "a-production-key-of-some-length",
            });
        using var client = app.CreateClient();

        using var response = await client.WithToken(TestTokens.Create("operations")).GetAsync(path, Cancellation);

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    private static PmsSimulatorSettings Simulator(OrchestratorApplication app) => app.Services.GetRequiredService<PmsSimulatorSettings>();

    private async Task<TimeSpan?> StoredSimulatorTimeToLive(string database, string session)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.ConnectionString);
        return await redis.GetDatabase().KeyTimeToLiveAsync($"{EventStreams.Of(database)}:pms-simulator:{session}");
    }

    private static async Task<HttpResponseMessage> SendDelete(OrchestratorApplication app, string token)
    {
        using var client = app.CreateClient().WithToken(token);
        return await client.DeleteAsync("/admin/pms-simulator", Cancellation);
    }

    private static async Task<HttpResponseMessage> Send(OrchestratorApplication app, object body, string? token)
    {
        using var client = app.CreateClient().WithToken(token);
        return await client.PutAsJsonAsync("/admin/pms-simulator", body, Cancellation);
    }

    private static Task WriteStatus(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }
}
