using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Orchestrator;

namespace VoiceHive.Tests.Worker;

/// <summary>
/// An operator inspects the dead-letter stream and puts its entries back once the cause is fixed: what was not
/// applied is applied once, what had been applied is not applied again, and the replay is counted.
/// </summary>
public sealed class DeadLetterReplayTests(SharedServers servers)
{
    private static readonly Dictionary<string, string?> Fast = EventStreams.FastReclaim(maxDeliveries: 2);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReplayAppliesWhatFailedOnceAndWhatWasAppliedNotAgain()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = await OrchestratorDriver.StartAsync(servers, Fast, database);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, Fast);
        using var calls = orchestrator.CreateClient().WithToken(TestTokens.Create("calls"));
        using var operatorClient = worker.CreateClient().WithToken(TestTokens.Create("operations"));
        var redis = worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        // A fault of our own: harbor-view's analytics cannot be written until the rule is dropped.
        await TestDatabase.ExecuteAsync(database, "ALTER TABLE call_hourly_stats ADD CONSTRAINT test_harbor_view_broken CHECK (hotel_id <> 'harbor-view')");
        await calls.EndAsync(await calls.StartCallAsync("grand-plaza"), "resolved");
        await calls.EndAsync(await calls.StartCallAsync("harbor-view"), "resolved");
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT coalesce(sum(calls), 0) FROM call_hourly_stats WHERE hotel_id = 'grand-plaza'"),
            count => count == 1, "grand-plaza's call to be applied", cancellationToken: Cancellation);
        // As if grand-plaza's applied event had been dead-lettered too (its acknowledgement lost): its fields copied over.
        var applied = (await redis.StreamRangeAsync(stream)).Single(e => ((string?)e["payload"])?.Contains("grand-plaza", StringComparison.Ordinal) == true && (string?)e["type"] == "call.ended");
        await redis.StreamAddAsync(stream + ":dead", [new("original_id", applied.Id), new("reason", "copied by the test"), new("deliveries", 1),
            .. applied.Values.Select(v => new NameValueEntry("field_" + v.Name, v.Value))]);

        var listed = await Eventually.Until(() => operatorClient.GetFromJsonAsync<JsonElement>("/admin/dead-letters", Cancellation),
            list => list.GetProperty("count").GetInt64() == 2, "harbor-view's event to be dead-lettered beside the copy", cancellationToken: Cancellation);
        await TestDatabase.ExecuteAsync(database, "ALTER TABLE call_hourly_stats DROP CONSTRAINT test_harbor_view_broken");
        var failed = listed.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("reason").GetString()!.StartsWith("failed", StringComparison.Ordinal));
        using var byId = await operatorClient.PostAsJsonAsync("/admin/dead-letters/replay", new { ids = new[] { failed.GetProperty("id").GetString() } }, Cancellation);
        using var rest = await operatorClient.PostAsync("/admin/dead-letters/replay", null, Cancellation);
        using var again = await operatorClient.PostAsync("/admin/dead-letters/replay", null, Cancellation);
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT coalesce(sum(calls), 0) FROM call_hourly_stats WHERE hotel_id = 'harbor-view'"),
            count => count == 1, "harbor-view's call to be applied after the replay", cancellationToken: Cancellation);
        var metrics = await Eventually.Until(async () => Exposition.Parse(await operatorClient.GetStringAsync("/monitoring/metrics", Cancellation)),
            m => m.Sum("voicehive_events_processed_total", ("outcome", "duplicate")) >= 1, "the replayed copy to be seen as a duplicate", cancellationToken: Cancellation);
        var after = await operatorClient.GetFromJsonAsync<JsonElement>("/admin/dead-letters", Cancellation);

        Assert.Equal("call.ended", failed.GetProperty("type").GetString());
        Assert.Equal(2, failed.GetProperty("deliveries").GetInt64());
        Assert.False(failed.TryGetProperty("payload", out _), "a listing carries no payload");
        Assert.DoesNotContain("harbor-view", listed.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, (await byId.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("replayed").GetInt32());
        Assert.Equal(1, (await rest.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("replayed").GetInt32());
        Assert.Equal(0, (await again.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("replayed").GetInt32());
        Assert.Equal(1, await TestDatabase.ScalarAsync(database, "SELECT sum(calls) FROM call_hourly_stats WHERE hotel_id = 'grand-plaza'"));
        Assert.Equal(2, metrics.Sum("voicehive_events_replayed_total", ("type", "call.ended")));
        Assert.Equal(0, after.GetProperty("count").GetInt64());
    }

    [Theory]
    [InlineData("""{"ids":["not-an-id"]}""")]
    [InlineData("""{"ids":["1700000000000-0","1700000000000"]}""")]
    [InlineData("""{"ids":["-1-0"]}""")]
    [InlineData("""{"ids":[null]}""")]
    public async Task AReplayOfIdsThatAreNotStreamIdsIsRefused(string body)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        using var client = worker.CreateClient().WithToken(TestTokens.Create("operations"));

        using var response = await client.PostAsync("/admin/dead-letters/replay", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Cancellation);

        var problem = await response.ProblemAsync(400);
        Assert.Equal("https://voicehive.dev/problems/validation", problem.GetProperty("type").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("ids", out _));
    }

    [Fact]
    public async Task AReplayOfMoreThan1000IdsIsRefused()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        using var client = worker.CreateClient().WithToken(TestTokens.Create("operations"));

        using var response = await client.PostAsJsonAsync("/admin/dead-letters/replay",
            new { ids = Enumerable.Range(1, 1001).Select(i => $"1700000000000-{i}").ToArray() }, Cancellation);

        var problem = await response.ProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("ids", out _));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    public async Task AListLimitOutOfRangeIsRefusedNamingIt(string limit)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        using var client = worker.CreateClient().WithToken(TestTokens.Create("operations"));

        using var response = await client.GetAsync($"/admin/dead-letters?limit={limit}", Cancellation);

        var problem = await response.ProblemAsync(400);
        Assert.Equal("https://voicehive.dev/problems/validation", problem.GetProperty("type").GetString());
        Assert.Equal("from 1 to 1000", problem.GetProperty("errors").GetProperty("limit")[0].GetString());
    }

    [Fact]
    public async Task RedisDownAnswers503WithRetryAfter()
    {
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        await using var worker = WorkerApplication.For(await servers.Postgres.CreateDatabaseAsync(), redis.ConnectionString);
        using var client = worker.CreateClient().WithToken(TestTokens.Create("operations"));
        using var before = await client.GetAsync("/admin/dead-letters", Cancellation);

        await redis.StopAsync();
        using var list = await client.GetAsync("/admin/dead-letters", Cancellation);
        using var replay = await client.PostAsync("/admin/dead-letters/replay", null, Cancellation);

        before.EnsureSuccessStatusCode();
        foreach (var response in (HttpResponseMessage[])[list, replay])
        {
            var problem = await response.ProblemAsync(503);
            Assert.Equal("https://voicehive.dev/problems/dependency-unavailable", problem.GetProperty("type").GetString());
            Assert.NotNull(response.Headers.RetryAfter);
        }
    }
}
