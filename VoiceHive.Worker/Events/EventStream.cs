using System.Globalization;
using StackExchange.Redis;

namespace VoiceHive.Worker.Events;

/// <summary>
/// The Redis Stream the orchestrator's outbox relay writes and this worker's consumer group reads.
/// StackExchange.Redis 1.2.6 predates streams, so every command goes through <c>ExecuteAsync</c>;
/// this class is the one place that speaks them.
/// </summary>
public sealed class EventStream(IConnectionMultiplexer redis, IConfiguration configuration)
{
    public const string DefaultStream = "voicehive:events";
    public const string Group = "voicehive-worker";

    /// <summary>The stream (setting <c>Events:Stream</c>, shared with the orchestrator).</summary>
    public string StreamKey { get; } = configuration["Events:Stream"] is { Length: > 0 } stream ? stream : DefaultStream;

    /// <summary>Where entries that failed every delivery go: the stream's name with <c>:dead</c>.</summary>
    public string DeadLetterKey => StreamKey + ":dead";

    private IDatabase Database => redis.GetDatabase();

    /// <summary>Creates the consumer group (and the stream) if missing; from the start of the stream, so nothing relayed before is skipped.</summary>
    public async Task EnsureGroupAsync()
    {
        try
        {
            await Database.ExecuteAsync("XGROUP", "CREATE", StreamKey, Group, "0", "MKSTREAM");
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // It exists.
        }
    }

    /// <summary>New entries for this consumer (non-blocking: a blocking read would stall the shared connection).</summary>
    public async Task<IReadOnlyList<StreamEntry>> ReadNewAsync(string consumer, int count)
    {
        var result = await Database.ExecuteAsync("XREADGROUP", "GROUP", Group, consumer, "COUNT", count.ToString(CultureInfo.InvariantCulture), "STREAMS", StreamKey, ">");
        if (result.IsNull)
        {
            return [];
        }

        var streams = (RedisResult[])result!;
        return streams.Length == 0 ? [] : ParseEntries((RedisResult[])((RedisResult[])streams[0]!)[1]!);
    }

    /// <summary>Entries idle in any consumer's pending list for at least <paramref name="minIdle"/>, with their delivery counts.</summary>
    public async Task<IReadOnlyList<(string Id, long Deliveries)>> IdlePendingAsync(TimeSpan minIdle, int count)
    {
        var result = (RedisResult[])(await Database.ExecuteAsync("XPENDING", StreamKey, Group, "IDLE",
            ((long)minIdle.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), "-", "+", count.ToString(CultureInfo.InvariantCulture)))!;
        return result.Select(entry => (RedisResult[])entry!).Select(entry => ((string)entry[0]!, (long)entry[3])).ToList();
    }

    /// <summary>Takes over entries another (possibly dead) consumer left pending.</summary>
    public async Task<IReadOnlyList<StreamEntry>> ClaimAsync(string consumer, TimeSpan minIdle, IReadOnlyList<string> ids)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var arguments = new List<object> { StreamKey, Group, consumer, ((long)minIdle.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) };
        arguments.AddRange(ids);
        return ParseEntries((RedisResult[])(await Database.ExecuteAsync("XCLAIM", [.. arguments]))!);
    }

    public async Task<StreamEntry?> ReadAsync(string id)
    {
        var entries = ParseEntries((RedisResult[])(await Database.ExecuteAsync("XRANGE", StreamKey, id, id))!);
        return entries.Count == 0 ? null : entries[0];
    }

    public Task AcknowledgeAsync(string id) => Database.ExecuteAsync("XACK", StreamKey, Group, id);

    public async Task DeadLetterAsync(StreamEntry entry, string reason, long deliveries)
    {
        var fields = new List<object> { DeadLetterKey, "*", "original_id", entry.Id, "reason", reason, "deliveries", deliveries.ToString(CultureInfo.InvariantCulture) };
        foreach (var (name, value) in entry.Fields)
        {
            fields.Add("field_" + name);
            fields.Add(value);
        }

        await Database.ExecuteAsync("XADD", [.. fields]);
        await AcknowledgeAsync(entry.Id);
    }

    /// <summary>The group's lag (entries not yet delivered) and pending count (delivered, not acknowledged).</summary>
    public async Task<(long Lag, long Pending)> GroupStateAsync()
    {
        var groups = (RedisResult[])(await Database.ExecuteAsync("XINFO", "GROUPS", StreamKey))!;
        foreach (var group in groups.Select(g => (RedisResult[])g!))
        {
            var fields = new Dictionary<string, RedisResult>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < group.Length; i += 2)
            {
                fields[(string)group[i]!] = group[i + 1];
            }

            if ((string)fields["name"]! == Group)
            {
                var lag = fields.TryGetValue("lag", out var value) && !value.IsNull ? (long)value : 0;
                return (lag, (long)fields["pending"]);
            }
        }

        return (0, 0);
    }

    private static List<StreamEntry> ParseEntries(RedisResult[] entries)
    {
        var parsed = new List<StreamEntry>(entries.Length);
        foreach (var raw in entries)
        {
            if (raw.IsNull)
            {
                continue;
            }

            var entry = (RedisResult[])raw!;
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!entry[1].IsNull)
            {
                var values = (RedisResult[])entry[1]!;
                for (var i = 0; i + 1 < values.Length; i += 2)
                {
                    fields[(string)values[i]!] = (string?)values[i + 1] ?? "";
                }
            }

            parsed.Add(new StreamEntry((string)entry[0]!, fields));
        }

        return parsed;
    }
}

/// <summary>One stream entry: its id and fields (<c>id</c>, <c>type</c>, <c>payload</c>, <c>traceparent</c>).</summary>
public sealed record StreamEntry(string Id, IReadOnlyDictionary<string, string> Fields);
