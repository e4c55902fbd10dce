using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace VoiceHive.Orchestrator.Calls;

/// <summary>
/// The state of calls in progress, in Redis so that every replica serves every call. It expires
/// after <see cref="CallsOptions.ActiveCallTtl"/> without a turn; PostgreSQL holds the record it can
/// be rebuilt from.
/// </summary>
public sealed class ActiveCallStore(IConnectionMultiplexer redis, IOptions<CallsOptions> options)
{
    private const string KeyPrefix = "voicehive:call:";

    public async Task<ActiveCallState?> GetAsync(Guid callId)
    {
        var value = await redis.GetDatabase().StringGetAsync(Key(callId));
        return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<ActiveCallState>((string)value!, JsonSerializerOptions.Web);
    }

    public Task SetAsync(ActiveCallState state) =>
        redis.GetDatabase().StringSetAsync(Key(state.CallId), JsonSerializer.Serialize(state, JsonSerializerOptions.Web), options.Value.ActiveCallTtl);

    public Task RemoveAsync(Guid callId) => redis.GetDatabase().KeyDeleteAsync(Key(callId));

    private static string Key(Guid callId) => KeyPrefix + callId.ToString("N");
}

/// <summary>What a turn needs to know about its call without asking PostgreSQL.</summary>
public sealed record ActiveCallState(Guid CallId, string HotelId, string Language, DateTimeOffset StartedAt, int Turns, int UnknownStreak, bool PmsFailed)
{
    public static ActiveCallState From(Call call, int unknownStreak = 0) =>
        new(call.Id, call.HotelId, call.Language, call.StartedAt, call.TurnCount, unknownStreak, call.PmsFailed);
}
