extern alias orchestrator;

using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task TheSimulatorAdminEndpointDoesNotExistOutsideDevelopment()
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

        using var response = await client.GetAsync("/admin/pms-simulator", Cancellation);

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    private static PmsSimulatorSettings Simulator(OrchestratorApplication app) => app.Services.GetRequiredService<PmsSimulatorSettings>();

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
