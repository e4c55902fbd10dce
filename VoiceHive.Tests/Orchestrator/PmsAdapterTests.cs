extern alias orchestrator;

using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>
/// The orchestrator against a PMS vendor's HTTP API (a loopback fake speaking that API) when
/// <c>services:pms:http:0</c> is configured, and the simulator's Development-only admin endpoint.
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
    public async Task TheSimulatorAdminEndpointNeedsItsToken()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, new Dictionary<string, string?> { ["Pms:SimulatorAdminToken"] = "sim-token" });
        using var client = app.CreateClient();
        var update = new { hotelId = "grand-plaza", latencyMedianMs = 0, latencyP95Ms = 0, failureRate = 1.0 };

        using var anonymous = await client.PutAsJsonAsync("/admin/pms-simulator", update, Cancellation);
        client.DefaultRequestHeaders.Authorization = new("Bearer", "sim-token");
        using var invalid = await client.PutAsJsonAsync("/admin/pms-simulator", new { latencyMedianMs = 10, latencyP95Ms = 5, failureRate = 2.0 }, Cancellation);
        using var accepted = await client.PutAsJsonAsync("/admin/pms-simulator", update, Cancellation);
        var call = await client.StartCallAsync();
        var turn = await client.TurnAsync(call, "Reservation GR1001?");

        await anonymous.ProblemAsync(401);
        var problem = await invalid.ProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("failureRate", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("latencyP95Ms", out _));
        accepted.EnsureSuccessStatusCode();
        Assert.True(turn.GetProperty("transferToFrontDesk").GetBoolean());
    }

    [Fact]
    public async Task TheSimulatorAdminEndpointDoesNotExistOutsideDevelopment()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ALERT_WEBHOOK_TOKEN"] = "t",
                ["Calls:CallerHashKey"] = "a-production-key-of-some-length",
                ["Pms:SimulatorAdminToken"] = "sim-token",
            });
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "sim-token");

        using var response = await client.GetAsync("/admin/pms-simulator", Cancellation);

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    private static Task WriteStatus(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }
}
