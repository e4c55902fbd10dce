using System.Globalization;
using StackExchange.Redis;

namespace VoiceHive.Worker.Events;

/// <summary>
/// The Redis Stream the orchestrator's outbox relay writes and this worker's consumer group reads, and its
/// dead-letter stream. Every command is StackExchange.Redis's own stream API; reads never block (a blocking
/// read would stall the multiplexer every other caller shares).
/// </summary>
public sealed class EventStream(IConnectionMultiplexer redis, IConfiguration configuration)
{
    public const string DefaultStream = "voicehive:events";
    public const string Group = "voicehive-worker";

    /// <summary>The stream (setting <c>Events:Stream</c>, shared with the orchestrator).</summary>
    public string StreamKey { get; } = configuration["Events:Stream"] is { Length: > 0 } stream ? stream : DefaultStream;

    /// <summary>Where entries that failed every delivery go: the stream's name with <c>:dead</c>.</summary>
    public string DeadLetterKey => StreamKey + ":dead";

    // KEYS[1]: the stream; ARGV: the group, the consumer, then the ids. StackExchange.Redis sends it by its SHA once loaded.
    private const string KeepOwnedScript = """
        local kept = 0
        for i = 3, #ARGV do
          local owned = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
          if #owned > 0 then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
            kept = kept + 1
          end
        end
        return kept
        """;

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

    /// <summary>New entries for this consumer (XREADGROUP without BLOCK).</summary>
    public async Task<IReadOnlyList<StreamEntry>> ReadNewAsync(string consumer, int count) =>
        await Database.StreamReadGroupAsync(StreamKey, Group, consumer, StreamPosition.NewMessages, count);

    /// <summary>Entries idle in any consumer's pending list for at least <paramref name="minIdle"/>, with their delivery counts.</summary>
    public async Task<IReadOnlyList<StreamPendingMessageInfo>> IdlePendingAsync(TimeSpan minIdle, int count) =>
        await Database.StreamPendingMessagesAsync(StreamKey, Group, count, RedisValue.Null, minIdleTimeInMs: (long)minIdle.TotalMilliseconds);

    /// <summary>Takes over entries another (possibly dead) consumer left pending; each one's delivery count goes up by one.</summary>
    public async Task<IReadOnlyList<StreamEntry>> ClaimAsync(string consumer, TimeSpan minIdle, IReadOnlyList<RedisValue> ids) =>
        ids.Count == 0 ? [] : await Database.StreamClaimAsync(StreamKey, Group, consumer, (long)minIdle.TotalMilliseconds, [.. ids]);

    /// <summary>
    /// Resets the idle time of those of <paramref name="ids"/> that <paramref name="consumer"/> still owns, without
    /// counting a delivery (XCLAIM … JUSTID leaves the delivery counter alone), so that no other consumer takes them over
    /// while this one is busy with them or waits out an outage. An entry another consumer has claimed meanwhile stays
    /// with it: XCLAIM alone would take it back whoever owns it, so ownership is checked in the same script.
    /// Returns how many were renewed.
    /// </summary>
    public async Task<int> KeepAsync(string consumer, IReadOnlyList<RedisValue> ids)
    {
        if (ids.Count == 0)
        {
            return 0;
        }

        RedisValue[] arguments = [Group, consumer, .. ids];
        return (int)await Database.ScriptEvaluateAsync(KeepOwnedScript, [StreamKey], arguments);
    }

    public async Task<StreamEntry?> ReadAsync(RedisValue id)
    {
        var entries = await Database.StreamRangeAsync(StreamKey, id, id);
        return entries.Length == 0 ? null : entries[0];
    }

    public Task AcknowledgeAsync(RedisValue id) => Database.StreamAcknowledgeAsync(StreamKey, Group, id);

    public Task AcknowledgeAsync(RedisValue[] ids) => Database.StreamAcknowledgeAsync(StreamKey, Group, ids);

    public Task PingAsync() => Database.PingAsync();

    /// <summary>Copies the entry to the dead-letter stream with the reason, then acknowledges it.</summary>
    public async Task DeadLetterAsync(StreamEntry entry, string reason, long deliveries)
    {
        NameValueEntry[] fields =
        [
            new(DeadLetter.OriginalIdField, entry.Id),
            new(DeadLetter.ReasonField, reason),
            new(DeadLetter.DeliveriesField, deliveries),
            .. entry.Values.Select(field => new NameValueEntry(DeadLetter.OriginalFieldPrefix + field.Name, field.Value)),
        ];
        await Database.StreamAddAsync(DeadLetterKey, fields);
        await AcknowledgeAsync(entry.Id);
    }

    /// <summary>How many entries the dead-letter stream holds, and the oldest <paramref name="count"/> of them.</summary>
    public async Task<(long Count, IReadOnlyList<DeadLetter> Entries)> DeadLettersAsync(int count)
    {
        var length = await Database.StreamLengthAsync(DeadLetterKey);
        var entries = await Database.StreamRangeAsync(DeadLetterKey, count: count);
        return (length, entries.Select(DeadLetter.From).ToList());
    }

    /// <summary>
    /// Puts dead-lettered entries back on the stream with their original fields (event id included, so an event
    /// applied in the meantime is recognised as a duplicate: dead letters are kept no longer than that record, see
    /// <c>Retention:Events</c>), then removes them from the dead-letter stream.
    /// All of them, or those with the given dead-letter ids. Returns the original entries put back.
    /// </summary>
    public async Task<IReadOnlyList<DeadLetter>> ReplayAsync(IReadOnlyCollection<string>? ids, int limit)
    {
        var entries = ids is { Count: > 0 }
            ? (await Task.WhenAll(ids.Select(id => Database.StreamRangeAsync(DeadLetterKey, id, id)))).SelectMany(e => e).ToArray()
            : await Database.StreamRangeAsync(DeadLetterKey, count: limit);
        var replayed = new List<DeadLetter>(entries.Length);
        foreach (var entry in entries.Where(e => !e.IsNull))
        {
            var original = entry.Values
                .Where(field => ((string?)field.Name)?.StartsWith(DeadLetter.OriginalFieldPrefix, StringComparison.Ordinal) == true)
                .Select(field => new NameValueEntry(((string)field.Name!)[DeadLetter.OriginalFieldPrefix.Length..], field.Value))
                .ToArray();
            if (original.Length > 0)
            {
                // Added first, removed second: a crash in between replays it twice, which the event id makes harmless.
                await Database.StreamAddAsync(StreamKey, original);
            }

            await Database.StreamDeleteAsync(DeadLetterKey, [entry.Id]);
            replayed.Add(DeadLetter.From(entry));
        }

        return replayed;
    }

    /// <summary>Whether <paramref name="key"/> holds an entry added before <paramref name="cutoff"/> (its oldest, by id).</summary>
    public async Task<bool> HasEntriesBeforeAsync(RedisKey key, DateTimeOffset cutoff) =>
        // An end id without a sequence number means the last entry of that millisecond.
        (await Database.StreamRangeAsync(key, maxId: (cutoff.ToUnixTimeMilliseconds() - 1).ToString(CultureInfo.InvariantCulture), count: 1)).Length > 0;

    /// <summary>Deletes the entries of <paramref name="key"/> added before <paramref name="cutoff"/> (XTRIM MINID, exact); returns how many.</summary>
    public Task<long> TrimBeforeAsync(RedisKey key, DateTimeOffset cutoff) =>
        Database.StreamTrimByMinIdAsync(key, FormatId((cutoff.ToUnixTimeMilliseconds(), 0)));

    /// <summary>
    /// Deletes the event stream's entries added before <paramref name="cutoff"/> that the group is done with: never one
    /// it has not read or not acknowledged, however old (XTRIM MINID at the lowest of the cutoff, the group's last
    /// delivered entry and its oldest pending one); nothing while the group does not exist. Returns how many.
    /// </summary>
    public async Task<long> TrimConsumedBeforeAsync(DateTimeOffset cutoff)
    {
        var groups = await Database.StreamGroupInfoAsync(StreamKey);
        if (groups.FirstOrDefault(g => g.Name == Group) is not { Name: not null } group)
        {
            return 0;
        }

        List<(long, long)> keepFrom = [(cutoff.ToUnixTimeMilliseconds(), 0), ParseId(group.LastDeliveredId ?? "0-0")];
        if (group.PendingMessageCount > 0)
        {
            keepFrom.Add(ParseId((string?)(await Database.StreamPendingAsync(StreamKey, Group)).LowestPendingMessageId ?? "0-0"));
        }

        return await Database.StreamTrimByMinIdAsync(StreamKey, FormatId(keepFrom.Min()));
    }

    private static string FormatId((long Milliseconds, long Sequence) id) => string.Create(CultureInfo.InvariantCulture, $"{id.Milliseconds}-{id.Sequence}");

    /// <summary>A stream entry id (<c>milliseconds-sequence</c>) as a pair that sorts as Redis sorts them.</summary>
    internal static (long Milliseconds, long Sequence) ParseId(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? (long.Parse(id, CultureInfo.InvariantCulture), 0)
            : (long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
    }

    /// <summary>The group's lag (entries not yet delivered) and pending count (delivered, not acknowledged).</summary>
    public async Task<(long Lag, long Pending)> GroupStateAsync()
    {
        foreach (var group in await Database.StreamGroupInfoAsync(StreamKey))
        {
            if (group.Name == Group)
            {
                return (group.Lag ?? 0, group.PendingMessageCount);
            }
        }

        return (0, 0);
    }
}

/// <summary>
/// A dead-lettered entry as an operator sees it: where it came from, what it was and why it failed. The payload is
/// left out: an alert's annotations are free text, and nothing here needs it to decide on a replay.
/// </summary>
public sealed record DeadLetter(string Id, string? OriginalId, string? EventId, string Type, string? Reason, long Deliveries, DateTimeOffset DeadLetteredAt)
{
    // A dead-letter entry's fields: the original entry's id, why and after how many deliveries it failed, and the
    // original entry's own fields with this prefix.
    internal const string OriginalIdField = "original_id";
    internal const string ReasonField = "reason";
    internal const string DeliveriesField = "deliveries";
    internal const string OriginalFieldPrefix = "field_";

    public static DeadLetter From(StreamEntry entry)
    {
        string? Field(string name) => entry[name] is { IsNull: false } value ? (string?)value : null;
        var id = (string)entry.Id!;
        var milliseconds = EventStream.ParseId(id).Milliseconds;
        return new DeadLetter(
            id,
            Field(OriginalIdField),
            Field(OriginalFieldPrefix + "id"),
            Field(OriginalFieldPrefix + "type") ?? "unknown",
            Field(ReasonField),
            long.TryParse(Field(DeliveriesField), CultureInfo.InvariantCulture, out var deliveries) ? deliveries : 0,
            DateTimeOffset.FromUnixTimeMilliseconds(milliseconds));
    }
}
