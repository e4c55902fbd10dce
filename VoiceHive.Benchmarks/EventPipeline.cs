extern alias worker;

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;
using worker::VoiceHive.Worker.Events;

namespace VoiceHive.Benchmarks;

/// <summary>
/// 4. Events per second from the outbox to the worker's effect: a burst of committed <c>call.ended</c>
/// messages, relayed by the orchestrator to the Redis stream and applied by the worker (hourly aggregates
/// and processed-event rows of a read batch in one transaction, then XACK). Baseline: a raw loop of the same Redis and
/// PostgreSQL operations in this process (a relay loop and a consumer loop running side by side, as the
/// two services do) on a copy of the outbox table and its own stream, in the same run.
/// </summary>
public static class EventPipeline
{
    // Large enough that the services' pick-up by polling (the relay every 250 ms, the worker after an idle 200 ms; the
    // raw loop starts at once) is a small part of a pass: with 3,000 a pass took 2.3 s on a quiet day, the wait up to a fifth.
    private const int Events = 10_000;
    private const int RelayBatch = 200;
    private const int ConsumerBatch = 50;
    private static readonly CallAnalyticsHandler CallEnded = new();
    private const int MaxWarmupPasses = 20;

    /// <summary>Tiered-compilation CPU in one warm-up pass (each side once, about 10 s) below which a service counts as warm.</summary>
    private static readonly TimeSpan JitQuiet = TimeSpan.FromMilliseconds(100);

    public static async Task<Figure> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        var settings = await environment.CreateSettingsAsync("pipeline");
        await using var orchestrator = await ServiceProcess.OrchestratorAsync(settings);
        await using var worker = await ServiceProcess.WorkerAsync(settings);
        await using var data = settings.OpenDataSource();
        using var redis = await ConnectionMultiplexer.ConnectAsync(environment.Redis.ConnectionString);
        await using (var copy = data.CreateCommand("CREATE TABLE raw_outbox (LIKE outbox_messages INCLUDING ALL)"))
        {
            await copy.ExecuteNonQueryAsync();
        }

        var rawStream = settings.Stream + ":raw";
        await redis.GetDatabase().StreamCreateConsumerGroupAsync(rawStream, "raw", StreamPosition.Beginning, createStream: true);

        // Unmeasured passes of each first, until tiered compilation is over in both services (their tiered-compilation threads
        // used at most JitQuiet of CPU in a pass, as in the telemetry benchmark): JIT, connection pools and prepared
        // statements warm up. One pass was not enough: its runs rose from about 0.76 to about 0.91 as the services warmed.
        var warmupPasses = await JitWarmup.UntilCompiledAsync([("orchestrator", orchestrator), ("worker", worker)], async _ =>
        {
            await ThroughServicesAsync(data);
            await RawLoopAsync(data, redis.GetDatabase(), rawStream);
        }, JitQuiet, MaxWarmupPasses);

        List<double> pipeline = [], raw = [], ratios = [];
        for (var run = 1; run <= options.Runs; run++)
        {
            double ours, floor;
            if (run % 2 == 1)
            {
                ours = await ThroughServicesAsync(data);
                floor = await RawLoopAsync(data, redis.GetDatabase(), rawStream);
            }
            else
            {
                floor = await RawLoopAsync(data, redis.GetDatabase(), rawStream);
                ours = await ThroughServicesAsync(data);
            }

            pipeline.Add(ours);
            raw.Add(floor);
            ratios.Add(ours / floor);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: {ours:F0} vs {floor:F0} events/s → {ours / floor:F3}"));
        }

        return new Figure("4. Event pipeline", "events per second, outbox → Redis stream → worker effect", "events/s",
            Stats.Median(pipeline), "raw Redis + PostgreSQL loop", Stats.Median(raw), ratios, "≥ 0.85", f => f.MedianRatio >= 0.85,
            string.Create(CultureInfo.InvariantCulture,
                $"After unmeasured passes of each until tiered compilation was over in both services (their tiered-compilation threads used at most {JitQuiet.TotalMilliseconds:F0} ms of CPU in a pass; {warmupPasses} passes), each side: {Events} call.ended messages committed to the outbox in one transaction, timed until every one has its processed_events row (the services' side polled every 20 ms by one index look-up of the last message, then one count). Services at their defaults (relay batch {RelayBatch}, consumer batch {ConsumerBatch}, relay poll 250 ms, consumer idle delay 200 ms), with telemetry on and tracing at 100 %. Raw loop: SELECT … FOR UPDATE SKIP LOCKED, an XADD for each sent back to back and awaited together, mark dispatched, commit; XREADGROUP, then one transaction for the batch (for each event, sorted by the handler's lock key: processed_events row and the worker's own CallAnalyticsHandler) and one XACK."));
    }

    private static async Task<double> ThroughServicesAsync(NpgsqlDataSource data)
    {
        var clock = Stopwatch.StartNew();
        var ids = await InsertOutboxAsync(data, "outbox_messages");
        // Polled every 20 ms with one index look-up (the worker applies the stream in order, so the last message is
        // applied last), then the whole batch is counted once; bounded at 5 minutes.
        while (!await AppliedAsync(data, [ids[^1]], 1) || !await AppliedAsync(data, ids, ids.Length))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"The worker did not apply all {Events} events in 5 minutes.");
            }

            await Task.Delay(20);
        }

        return Events / clock.Elapsed.TotalSeconds;
    }

    private static async Task<bool> AppliedAsync(NpgsqlDataSource data, Guid[] ids, int expected)
    {
        await using var count = data.CreateCommand("SELECT count(*) FROM processed_events WHERE event_id = ANY(@ids)");
        count.Parameters.AddWithValue("ids", ids);
        return (long)(await count.ExecuteScalarAsync())! >= expected;
    }

    /// <summary>Commits <see cref="Events"/> call.ended messages to <paramref name="table"/>; returns their ids in relay order.</summary>
    private static async Task<Guid[]> InsertOutboxAsync(NpgsqlDataSource data, string table)
    {
        var random = new Random(Events);
        var now = DateTimeOffset.UtcNow;
        var payloads = Enumerable.Range(0, Events).Select(i => JsonSerializer.Serialize(new
        {
            callId = Guid.CreateVersion7(),
            hotelId = CallTraffic.SeededHotels[i % CallTraffic.SeededHotels.Length],
            startedAt = now.AddSeconds(-120 - random.Next(300)),
            endedAt = now,
            succeeded = i % 20 != 0,
            outcome = i % 20 != 0 ? "resolved" : "dropped",
            failureReason = i % 20 != 0 ? null : "line_dropped",
            turns = 3,
            pmsSeconds = new[] { 0.05 + random.NextDouble() * 0.3, 0.05 + random.NextDouble() * 0.5 },
            pmsFailures = 0,
        }, JsonSerializerOptions.Web)).ToArray();
        await using var insert = data.CreateCommand($"""
            INSERT INTO {table} (id, type, payload) SELECT id, 'call.ended', payload FROM unnest(@ids, @payloads) AS t(id, payload)
            """);
        var ids = payloads.Select(_ => Guid.CreateVersion7()).Order().ToArray();
        insert.Parameters.AddWithValue("ids", ids);
        insert.Parameters.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, payloads);
        await insert.ExecuteNonQueryAsync();
        return ids;
    }

    private static async Task<double> RawLoopAsync(NpgsqlDataSource data, IDatabase redis, string stream)
    {
        var clock = Stopwatch.StartNew();
        await InsertOutboxAsync(data, "raw_outbox");
        await Task.WhenAll(RelayAsync(data, redis, stream), ConsumeAsync(data, redis, stream));
        return Events / clock.Elapsed.TotalSeconds;
    }

    private static async Task RelayAsync(NpgsqlDataSource data, IDatabase redis, string stream)
    {
        for (var relayed = 0; relayed < Events;)
        {
            await using var connection = await data.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            var batch = new List<(Guid Id, string Type, string Payload)>();
            await using (var select = new NpgsqlCommand("""
                SELECT id, type, payload::text FROM raw_outbox WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT @limit FOR UPDATE SKIP LOCKED
                """, connection, transaction))
            {
                select.Parameters.AddWithValue("limit", RelayBatch);
                await using var reader = await select.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    batch.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2)));
                }
            }

            await Task.WhenAll(batch.Select(message => redis.StreamAddAsync(stream,
                [new("id", message.Id.ToString()), new("type", message.Type), new("payload", message.Payload), new("traceparent", "")],
                maxLength: 100_000, useApproximateMaxLength: true)));

            await using (var mark = new NpgsqlCommand("UPDATE raw_outbox SET dispatched_at = now() WHERE id = ANY(@ids)", connection, transaction))
            {
                mark.Parameters.AddWithValue("ids", batch.Select(m => m.Id).ToArray());
                await mark.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
            relayed += batch.Count;
        }
    }

    private static async Task ConsumeAsync(NpgsqlDataSource data, IDatabase redis, string stream)
    {
        for (var consumed = 0; consumed < Events;)
        {
            var entries = await redis.StreamReadGroupAsync(stream, "raw", "raw-consumer", StreamPosition.NewMessages, ConsumerBatch);
            if (entries.Length == 0)
            {
                await Task.Delay(5);
                continue;
            }

            await ApplyAsync(data, entries);
            await redis.StreamAcknowledgeAsync(stream, "raw", [.. entries.Select(e => e.Id)]);
            consumed += entries.Length;
        }
    }

    /// <summary>
    /// The worker's effect for call.ended, as the worker applies a read batch: for each event the processed-event row,
    /// then the worker's own handler (the hourly upsert), sorted by the handler's lock key, all in one transaction.
    /// </summary>
    private static async Task ApplyAsync(NpgsqlDataSource data, StreamEntry[] entries)
    {
        var events = new List<(Guid Id, string Type, JsonDocument Payload)>(entries.Length);
        try
        {
            foreach (var entry in entries)
            {
                events.Add((Guid.Parse((string)entry["id"]!), (string)entry["type"]!, JsonDocument.Parse((string)entry["payload"]!)));
            }

            await using var connection = await data.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            foreach (var (id, type, payload) in events.OrderBy(e => CallEnded.LockKey(e.Payload.RootElement), StringComparer.Ordinal))
            {
                await using (var claim = new NpgsqlCommand("INSERT INTO processed_events (event_id, handler) VALUES (@id, @handler) ON CONFLICT DO NOTHING", connection, transaction))
                {
                    claim.Parameters.AddWithValue("id", id);
                    claim.Parameters.AddWithValue("handler", type);
                    if (await claim.ExecuteNonQueryAsync() == 0)
                    {
                        continue;
                    }
                }

                await CallEnded.HandleAsync(payload.RootElement, connection, transaction, CancellationToken.None);
            }

            await transaction.CommitAsync();
        }
        finally
        {
            events.ForEach(e => e.Payload.Dispose());
        }
    }
}
