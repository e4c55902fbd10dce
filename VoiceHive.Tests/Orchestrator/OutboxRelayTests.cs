extern alias orchestrator;
extern alias worker;

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
    private const string Group = worker::VoiceHive.Worker.Events.EventStream.Group;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WithNoConsumerTheRelayHoldsTheOutboxAtTheStreamsBoundAndLosesNothing()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = Bounded(database);
        using var client = app.CreateClient();
        var redis = app.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        await InsertAsync(database, Events);

        // No worker has created its group: every entry is unread, and the relay stops with room for two batches (or one, having added its last).
        var health = await Eventually.Until(() => HealthAsync(client), report => Status(report, "event-stream") == "Degraded",
            "the relay to hold", cancellationToken: Cancellation);
        var dispatched = await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NOT NULL");
        Assert.InRange(dispatched, Bound - 2 * BatchSize, Bound - BatchSize);
        Assert.Equal(dispatched, await redis.StreamLengthAsync(stream));
        Assert.Contains($"no consumer group {Group} yet", health.GetProperty("checks").GetProperty("event-stream").GetProperty("description").GetString(),
            StringComparison.Ordinal);

        // The worker's group reads from the start and acknowledges what it reads; the relay fills the room it makes.
        await redis.StreamCreateConsumerGroupAsync(stream, Group, StreamPosition.Beginning);
        var read = await ReadAsync(redis, stream, Events);

        Assert.Equal(Events, read.Count);
        Assert.Equal(0, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL"));
        await Eventually.Until(() => HealthAsync(client), report => Status(report, "event-stream") == "Healthy",
            "the relay to report room again", cancellationToken: Cancellation);
        var metrics = Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", Cancellation));
        // Once at least: the relay can outrun this reader and hold again.
        Assert.True(metrics.Sum("voicehive_errors_total", ("component", "outbox"), ("error_type", "stream_full")) >= 1);
    }

    [Fact]
    public async Task AnOldUnacknowledgedEntryIsNotTrimmedWhileNewerOnesAreConsumed()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = Bounded(database);
        using var client = app.CreateClient();
        var redis = app.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = EventStreams.Of(database);
        await redis.StreamCreateConsumerGroupAsync(stream, Group, StreamPosition.Beginning, createStream: true);
        await InsertAsync(database, 1);
        var stuck = await Eventually.Until(() => redis.StreamReadGroupAsync(stream, Group, "slow", StreamPosition.NewMessages, 1),
            entries => entries.Length == 1, "the first event to be relayed and read", cancellationToken: Cancellation);

        // Everything after it is read and acknowledged at once; the first stays pending, as a delivery being retried would.
        await InsertAsync(database, Events);
        var read = new HashSet<string>(StringComparer.Ordinal);
        using var reading = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!reading.IsCancellationRequested)
            {
                await ReadAsync(redis, stream, int.MaxValue, rounds: 1, read: read);
                await Task.Delay(20, Cancellation);
            }
        }, Cancellation);
        // It may first hold while the reader catches up; then only the pending entry keeps it holding.
        var health = await Eventually.Until(() => HealthAsync(client),
            report => Description(report, "event-stream")?.Contains("oldest unacknowledged entry", StringComparison.Ordinal) == true,
            "the relay to hold for the pending entry", cancellationToken: Cancellation);
        await reading.CancelAsync();
        await reader;

        Assert.Single(await redis.StreamRangeAsync(stream, stuck[0].Id, stuck[0].Id));
        Assert.Equal("Degraded", Status(health, "event-stream"));
        Assert.True(await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NULL") > 0);

        // Acknowledged at last: the relay carries on, and the bound trims what has been consumed.
        await redis.StreamAcknowledgeAsync(stream, Group, stuck[0].Id);
        await ReadAsync(redis, stream, Events, read: read);
        Assert.Equal(Events, read.Count);
        await Eventually.Until(() => HealthAsync(client), report => Status(report, "event-stream") == "Healthy",
            "the relay to carry on", cancellationToken: Cancellation);
    }

    [Fact]
    public void TheRelayWatchesTheGroupTheWorkerReadsWith() =>
        Assert.Equal(Group, new orchestrator::VoiceHive.Orchestrator.Events.OutboxOptions().ConsumerGroup);

    [Fact]
    public async Task AStreamBoundNoLargerThanTwoBatchesStopsTheStart()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["Outbox:StreamMaxLength"] = "400", ["Outbox:BatchSize"] = "200" });

        var failure = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.Contains("Outbox:StreamMaxLength must be more than twice Outbox:BatchSize", failure.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The orchestrator with a stream bound of <see cref="Bound"/> and batches of <see cref="BatchSize"/>.</summary>
    private OrchestratorApplication Bounded(string database) => OrchestratorApplication.For(database, servers.Redis.ConnectionString, new Dictionary<string, string?>
    {
        ["Outbox:StreamMaxLength"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Outbox:BatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    private static Task InsertAsync(string database, int count) => TestDatabase.ExecuteAsync(database, $"""
        INSERT INTO outbox_messages (id, type, payload)
        SELECT gen_random_uuid(), 'call.ended', json_build_object('n', i)::jsonb FROM generate_series(1, {count}) AS i
        """);

    /// <summary>Reads new entries as the worker's group and acknowledges each, until <paramref name="expected"/> have come or the rounds are over; returns their event ids.</summary>
    private static async Task<HashSet<string>> ReadAsync(IDatabase redis, string stream, int expected, int rounds = 2_000, HashSet<string>? read = null)
    {
        read ??= new HashSet<string>(StringComparer.Ordinal);
        for (var round = 0; round < rounds && read.Count < expected; round++)
        {
            var entries = await redis.StreamReadGroupAsync(stream, Group, "test", StreamPosition.NewMessages, 25);
            foreach (var entry in entries)
            {
                read.Add((string)entry["id"]!);
                await redis.StreamAcknowledgeAsync(stream, Group, entry.Id);
            }

            if (entries.Length == 0 && rounds > 1)
            {
                await Task.Delay(50, Cancellation);
            }
        }

        return read;
    }

    private static async Task<JsonElement> HealthAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health", Cancellation);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement;
    }

    private static string? Description(JsonElement report, string check) =>
        report.GetProperty("checks").TryGetProperty(check, out var entry) ? entry.GetProperty("description").GetString() : null;

    private static string? Status(JsonElement report, string check) =>
        report.GetProperty("checks").TryGetProperty(check, out var entry) ? entry.GetProperty("status").GetString() : null;
}
