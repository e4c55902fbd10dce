using StackExchange.Redis;

namespace VoiceHive.Worker.Events;

/// <summary>
/// The Redis Stream the orchestrator's outbox relay writes and this worker's consumer group reads: the one
/// place that speaks its commands.
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
            await Database.StreamCreateConsumerGroupAsync(StreamKey, Group, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // It exists.
        }
    }

    /// <summary>New entries for this consumer (non-blocking: a blocking read would stall the shared connection).</summary>
    public async Task<IReadOnlyList<StreamEntry>> ReadNewAsync(string consumer, int count) =>
        Entries(await Database.StreamReadGroupAsync(StreamKey, Group, consumer, StreamPosition.NewMessages, count));

    /// <summary>Entries idle in any consumer's pending list for at least <paramref name="minIdle"/>, with their delivery counts.</summary>
    public async Task<IReadOnlyList<(string Id, long Deliveries)>> IdlePendingAsync(TimeSpan minIdle, int count)
    {
        var pending = await Database.StreamPendingMessagesAsync(StreamKey, Group, count, RedisValue.Null,
            minId: null, maxId: null, minIdleTimeInMs: (long)minIdle.TotalMilliseconds);
        return pending.Select(message => ((string)message.MessageId!, (long)message.DeliveryCount)).ToList();
    }

    /// <summary>Takes over entries another (possibly dead) consumer left pending.</summary>
    public async Task<IReadOnlyList<StreamEntry>> ClaimAsync(string consumer, TimeSpan minIdle, IReadOnlyList<string> ids) =>
        ids.Count == 0
            ? []
            : Entries(await Database.StreamClaimAsync(StreamKey, Group, consumer, (long)minIdle.TotalMilliseconds, [.. ids.Select(id => (RedisValue)id)]));

    public async Task<StreamEntry?> ReadAsync(string id)
    {
        var entries = Entries(await Database.StreamRangeAsync(StreamKey, id, id));
        return entries.Count == 0 ? null : entries[0];
    }

    public Task AcknowledgeAsync(string id) => Database.StreamAcknowledgeAsync(StreamKey, Group, id);

    public async Task DeadLetterAsync(StreamEntry entry, string reason, long deliveries)
    {
        NameValueEntry[] fields =
        [
            new("original_id", entry.Id),
            new("reason", reason),
            new("deliveries", deliveries),
            .. entry.Fields.Select(field => new NameValueEntry("field_" + field.Key, field.Value)),
        ];
        await Database.StreamAddAsync(DeadLetterKey, fields);
        await AcknowledgeAsync(entry.Id);
    }

    /// <summary>The group's lag (entries not yet delivered) and pending count (delivered, not acknowledged).</summary>
    public async Task<(long Lag, long Pending)> GroupStateAsync()
    {
        var group = (await Database.StreamGroupInfoAsync(StreamKey)).FirstOrDefault(g => g.Name == Group);
        return group.Name is null ? (0, 0) : (group.Lag ?? 0, group.PendingMessageCount);
    }

    private static List<StreamEntry> Entries(StackExchange.Redis.StreamEntry[] entries)
    {
        var parsed = new List<StreamEntry>(entries.Length);
        // A claimed entry that was deleted meanwhile comes back empty.
        foreach (var entry in entries.Where(entry => !entry.IsNull))
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var field in entry.Values)
            {
                fields[(string)field.Name!] = (string?)field.Value ?? "";
            }

            parsed.Add(new StreamEntry(entry.Id!, fields));
        }

        return parsed;
    }
}

/// <summary>One stream entry: its id and fields (<c>id</c>, <c>type</c>, <c>payload</c>, <c>traceparent</c>).</summary>
public sealed record StreamEntry(string Id, IReadOnlyDictionary<string, string> Fields);
