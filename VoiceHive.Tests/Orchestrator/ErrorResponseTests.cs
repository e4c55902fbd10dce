using System.Net.Http.Json;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>503 with Retry-After means "PostgreSQL or Redis cannot be reached", and only that; any other database error is our fault: a 500.</summary>
public sealed class ErrorResponseTests(SharedServers servers)
{
    private const string TraceId = "5b8efff798038103d269b633813fc60c";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AConstraintViolationIsA500WithoutDetailsCountedAndTracedNotA503()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        using var client = app.CreateClient();
        // A rule of the database's own that the API does not know: inserting this call violates it.
        await TestDatabase.ExecuteAsync(database, "ALTER TABLE calls ADD CONSTRAINT test_harbor_view_closed CHECK (hotel_id <> 'harbor-view')");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/calls")
        {
            Content = JsonContent.Create(new { hotelId = "harbor-view", callerNumber = OrchestratorDriver.CallerNumber, language = "en" }),
        };
        request.Headers.Add("traceparent", $"00-{TraceId}-b7ad6b7169203331-01");

        using var response = await client.SendAsync(request, Cancellation);
        var problem = await response.ProblemAsync(500);
        var metrics = Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation));

        Assert.Equal("https://voicehive.dev/problems/internal", problem.GetProperty("type").GetString());
        Assert.False(response.Headers.Contains("Retry-After"));
        var body = problem.ToString();
        Assert.DoesNotContain("test_harbor_view_closed", body, StringComparison.Ordinal);
        Assert.DoesNotContain("23514", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.Contains(TraceId, problem.GetProperty("traceId").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, metrics.Sum("voicehive_errors_total", ("component", "api")));
        Assert.Equal(0, metrics.Sum("voicehive_errors_total", ("component", "postgres")));
    }

    [Fact]
    public async Task AStoppedPostgresIsA503WithRetryAfter()
    {
        await using var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        await using var app = OrchestratorApplication.For(await postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var client = app.CreateClient();

        await postgres.StopAsync();
        using var response = await client.PostAsJsonAsync("/api/calls",
            new { hotelId = "grand-plaza", callerNumber = OrchestratorDriver.CallerNumber, language = "en" }, Cancellation);
        var problem = await response.ProblemAsync(503);
        var metrics = Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation));

        Assert.Equal("https://voicehive.dev/problems/dependency-unavailable", problem.GetProperty("type").GetString());
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, metrics.Sum("voicehive_errors_total", ("component", "postgres")));
        Assert.Equal(0, metrics.Sum("voicehive_errors_total", ("component", "api")));
    }
}
