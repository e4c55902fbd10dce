extern alias worker;

using Microsoft.Extensions.Configuration;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;
using EventStream = worker::VoiceHive.Worker.Events.EventStream;

namespace VoiceHive.Tests.Worker;

/// <summary>The consumer's renewal of its claims, against a real Redis: idle time reset, no delivery counted, and nothing taken from another consumer.</summary>
public sealed class EventStreamTests(SharedServers servers)
{
    [Fact]
    public async Task KeepingRenewsOnlyTheEntriesTheConsumerStillOwnsAndCountsNoDelivery()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.ConnectionString);
        var key = "voicehive:events:keep-" + Guid.NewGuid().ToString("N");
        var stream = new EventStream(redis, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Events:Stream"] = key }).Build());
        var database = redis.GetDatabase();
        await stream.EnsureGroupAsync();
        var kept = await database.StreamAddAsync(key, "n", 1);
        var taken = await database.StreamAddAsync(key, "n", 2);
        var acknowledged = await database.StreamAddAsync(key, "n", 3);
        Assert.Equal(3, (await stream.ReadNewAsync("a", 10)).Count);
        // Another consumer takes one over (a counted delivery), and one is settled.
        Assert.Single(await stream.ClaimAsync("b", TimeSpan.Zero, [taken]));
        await stream.AcknowledgeAsync(acknowledged);
        await Task.Delay(TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken);

        var renewed = await stream.KeepAsync("a", [kept, taken, acknowledged]);

        var pending = (await database.StreamPendingMessagesAsync(key, EventStream.Group, 10, RedisValue.Null)).ToDictionary(p => (string)p.MessageId!);
        Assert.Equal(1, renewed);
        Assert.Equal(2, pending.Count);
        Assert.Equal(("a", 1), ((string)pending[kept!].ConsumerName!, pending[kept!].DeliveryCount));
        Assert.Equal(("b", 2), ((string)pending[taken!].ConsumerName!, pending[taken!].DeliveryCount));
        // Both were last touched before the pause; only the kept one since.
        Assert.True(pending[kept!].IdleTimeInMilliseconds < pending[taken!].IdleTimeInMilliseconds,
            $"idle: kept {pending[kept!].IdleTimeInMilliseconds} ms, taken {pending[taken!].IdleTimeInMilliseconds} ms");
        await database.KeyDeleteAsync(key);
    }
}
