using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using StackExchange.Redis;
using VoiceHive.Orchestrator.Events;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// Keeps the simulator the same on every replica: a change made through the admin endpoint (to whichever replica a
/// load balancer sends it) is stored in Redis beside the event stream and published there, every replica applies
/// what is published, and a replica that starts later, or reconnects, loads what is stored.
/// </summary>
public sealed partial class SimulatorSync(
    PmsSimulatorSettings settings,
    IConnectionMultiplexer redis,
    IOptions<OutboxOptions> outbox,
    ILogger<SimulatorSync> logger) : BackgroundService
{
    private const string Reset = "reset";

    private int _subscribed;

    private string Key { get; } = outbox.Value.Stream + ":pms-simulator";

    /// <summary>Stores and publishes <paramref name="state"/> (null: back to the starting profile), then applies it here.</summary>
    public async Task PublishAsync(SimulatorState? state)
    {
        var database = redis.GetDatabase();
        var message = state is null ? Reset : JsonSerializer.Serialize(state, JsonSerializerOptions.Web);
        if (state is null)
        {
            await database.KeyDeleteAsync(Key);
        }
        else
        {
            await database.StringSetAsync(Key, message);
        }

        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(Key), message);
        Apply(message);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Redis may be down at start: whenever a connection is (re)made, subscribe if not yet and catch up.
        redis.ConnectionRestored += (_, _) => _ = SubscribeAndLoadAsync();
        return SubscribeAndLoadAsync();
    }

    private async Task SubscribeAndLoadAsync()
    {
        try
        {
            // At start and after a reconnection, not a loop: no trace of its own.
            using var untraced = SuppressInstrumentationScope.Begin();
            if (Interlocked.CompareExchange(ref _subscribed, 1, 0) == 0)
            {
                try
                {
                    // StackExchange.Redis subscribes again by itself after a reconnection.
                    await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Key), (_, message) => Apply(message));
                }
                catch
                {
                    Volatile.Write(ref _subscribed, 0);
                    throw;
                }
            }

            var stored = await redis.GetDatabase().StringGetAsync(Key);
            if (stored.HasValue)
            {
                Apply(stored);
            }
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            LogLoadFailed(logger, exception.GetType().Name);
        }
    }

    private void Apply(RedisValue message)
    {
        if (message == Reset)
        {
            settings.Reset();
        }
        else if (!message.IsNullOrEmpty && JsonSerializer.Deserialize<SimulatorState>((string)message!, JsonSerializerOptions.Web) is { } state)
        {
            settings.Replace(state);
        }
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Warning,
        Message = "The simulator's shared profile could not be loaded from Redis ({ExceptionType}); this replica keeps its own until the next change")]
    private static partial void LogLoadFailed(ILogger logger, string exceptionType);
}
