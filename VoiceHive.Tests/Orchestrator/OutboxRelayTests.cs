using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>The outbox relay and the stream's bound: an event the worker has not consumed is never trimmed away.</summary>
public sealed class OutboxRelayTests(SharedServers servers)
{
    private const int Bound = 100;
    private const int BatchSize = 20;
    private const int Events = 300;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WithNoConsumerTheRelayHoldsTheOutboxAtTheStreamsBoundAndLosesNothing()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Outbox:StreamMaxLength"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Outbox:BatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var client = app.CreateClient();
        var redis = app.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        await TestDatabase.ExecuteAsync(database, $"""
            INSERT INTO outbox_messages (id, type, payload)
            SELECT gen_random_uuid(), 'call.ended', json_build_object('n', i)::jsonb FROM generate_series(1, {Events}) AS i
            """);

        // No worker has created its group: every entry is unread, and the relay stops a batch short of the bound.
        var health = await Eventually.Until(() => HealthAsync(client), report => Status(report, "event-stream") == "Degraded",
            "the relay to hold", cancellationToken: Cancellation);
        var dispatched = await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NOT NULL");
        Assert.InRange(dispatched, Bound - 2 * BatchSize, Bound);
        Assert.Equal(dispatched, await redis.StreamLengthAsync(stream));
        Assert.Contains("not yet consumed", health.GetProperty("checks").GetProperty("event-stream").GetProperty("description").GetString(),
            StringComparison.Ordinal);

        // A consumer group reads from the start and acknowledges what it reads; the relay fills the room it makes.
        await redis.StreamCreateConsumerGroupAsync(stream, "reader", StreamPosition.Beginning);
        var read = new HashSet<string>(StringComparer.Ordinal);
        for (var round = 0; round < 2_000 && read.Count < Events; round++)
        {
            var entries = await redis.StreamReadGroupAsync(stream, "reader", "test", StreamPosition.NewMessages, 25);
            foreach (var entry in entries)
            {
                read.Add((string)entry["id"]!);
                await redis.StreamAcknowledgeAsync(stream, "reader", entry.Id);
            }

            if (entries.Length == 0)
            {
                await Task.Delay(50, Cancellation);
            }
        }

        var ids = await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages");
        Assert.Equal(Events, read.Count);
        Assert.Equal(Events, ids);
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL"));
        await Eventually.Until(() => HealthAsync(client), report => Status(report, "event-stream") == "Healthy",
            "the relay to report room again", cancellationToken: Cancellation);
        var metrics = Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation));
        // Once at least: the relay can outrun this reader and hold again.
        Assert.True(metrics.Sum("voicehive_errors_total", ("component", "outbox"), ("error_type", "stream_full")) >= 1);
    }

    [Fact]
    public async Task AStreamBoundNoLargerThanABatchStopsTheStart()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["Outbox:StreamMaxLength"] = "200", ["Outbox:BatchSize"] = "200" });

        var failure = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.Contains("Outbox:StreamMaxLength must be more than Outbox:BatchSize", failure.ToString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> HealthAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health", Cancellation);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement;
    }

    private static string? Status(JsonElement report, string check) =>
        report.GetProperty("checks").TryGetProperty(check, out var entry) ? entry.GetProperty("status").GetString() : null;
}
