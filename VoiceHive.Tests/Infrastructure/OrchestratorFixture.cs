extern alias orchestrator;

using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>Helpers for driving the orchestrator's API in tests.</summary>
public static class OrchestratorDriver
{
    public const string Hotel = "grand-plaza";
    public const string CallerNumber = "+447700900123";

    /// <summary>An orchestrator on a fresh database (or <paramref name="database"/>), its PMS simulator answering at once and never failing.</summary>
    public static async Task<OrchestratorApplication> StartAsync(SharedServers servers, IReadOnlyDictionary<string, string?>? extra = null, string? database = null)
    {
        var app = OrchestratorApplication.For(database ?? await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, extra);
        app.Services.GetService<orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings>()
            ?.Set(null, new orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile(0, 0, 0));
        return app;
    }

    public static async Task<Guid> StartCallAsync(this HttpClient client, string hotel = Hotel, string number = CallerNumber)
    {
        using var response = await client.PostAsJsonAsync("/api/calls", new { hotelId = hotel, callerNumber = number, language = "en" },
            TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetGuid();
    }

    public static async Task<JsonElement> TurnAsync(this HttpClient client, Guid call, string utterance)
    {
        using var response = await client.PostAsJsonAsync($"/api/calls/{call}/turns", new { utterance }, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    public static async Task<JsonElement> EndAsync(this HttpClient client, Guid call, string outcome)
    {
        using var response = await client.PostAsJsonAsync($"/api/calls/{call}/end", new { outcome }, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    /// <summary>The problem+json of a response, asserting its status and media type.</summary>
    public static async Task<JsonElement> ProblemAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.StartsWith("https://voicehive.dev/problems/", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        return problem;
    }
}
