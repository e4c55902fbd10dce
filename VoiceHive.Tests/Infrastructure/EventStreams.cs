using System.Text.Json;
using StackExchange.Redis;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>The event stream of a test's services, and consumer settings that let a test see reclaims and dead letters.</summary>
public static class EventStreams
{
    /// <summary>Tests share one Redis: the services of one database share one event stream, and no other.</summary>
    public static string Of(string database) => "voicehive:events:" + new Npgsql.NpgsqlConnectionStringBuilder(database).Database;

    /// <summary>An entry left pending is claimed again after a second, and dead-lettered after <paramref name="maxDeliveries"/> deliveries.</summary>
    public static Dictionary<string, string?> FastReclaim(int maxDeliveries) => new()
    {
        ["Consumer:ReclaimAfter"] = "00:00:01",
        ["Consumer:ReclaimInterval"] = "00:00:00.300",
        ["Consumer:MaxDeliveries"] = maxDeliveries.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Adds all <paramref name="entries"/> to the database's stream in one MULTI/EXEC, so that no consumer reads it half-written.</summary>
    public static async Task AddAtOnceAsync(IDatabase redis, string database, IEnumerable<NameValueEntry[]> entries)
    {
        var transaction = redis.CreateTransaction();
        var adds = entries.Select(entry => transaction.StreamAddAsync(Of(database), entry)).ToList();
        Assert.True(await transaction.ExecuteAsync());
        await Task.WhenAll(adds);
    }

    /// <summary>A <c>call.ended</c> entry as the relay writes it (without a trace context), one PMS request of 0.2 s.</summary>
    public static NameValueEntry[] EndedCall(string hotelId, DateTimeOffset endedAt)
    {
        var payload = JsonSerializer.Serialize(new
        {
            callId = Guid.NewGuid(),
            hotelId,
            startedAt = endedAt.AddMinutes(-1),
            endedAt,
            succeeded = true,
            turns = 1,
            pmsSeconds = new[] { 0.2 },
        }, JsonSerializerOptions.Web);
        return [new("id", Guid.NewGuid().ToString()), new("type", "call.ended"), new("payload", payload), new("traceparent", "")];
    }
}
