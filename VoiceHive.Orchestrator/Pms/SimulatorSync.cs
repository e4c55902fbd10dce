using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using StackExchange.Redis;
using VoiceHive.Orchestrator.Events;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// Keeps the simulator the same on every replica: a change made through the admin endpoint (to whichever replica a
/// load balancer sends it) is stored in Redis beside the event stream, and a notice published there has every replica
/// read what is stored and take it on; a replica that starts later, or reconnects, loads what is stored. Replicas
/// read the stored state rather than take the published one so that changes made at the same time through
/// different replicas end the same everywhere (the last one stored wins).
/// <para>
/// <c>Pms:Simulator:Session</c> (the AppHost gives each of its runs its own) keeps a session's state to itself, for
/// a week at most: a fault injected in one run of the AppHost is not there in the next, though Redis keeps its data.
/// </para>
/// </summary>
public sealed partial class SimulatorSync(
    PmsSimulatorSettings settings,
    IConnectionMultiplexer redis,
    IOptions<OutboxOptions> outbox,
    IConfiguration configuration,
    ILogger<SimulatorSync> logger) : BackgroundService, IDisposable
{
    private static readonly TimeSpan SessionStateLifetime = TimeSpan.FromDays(7);

    private readonly SemaphoreSlim _loading = new(1, 1);
    private int _subscribed;

    private readonly string? _session = configuration[$"{PmsSimulatorSettings.Section}:Session"] is { Length: > 0 } session ? session : null;

    private string Key => field ??= _session is null ? $"{outbox.Value.Stream}:pms-simulator" : $"{outbox.Value.Stream}:pms-simulator:{_session}";

    /// <summary>Stores <paramref name="state"/> (null: back to the starting profile) and tells every replica, this one included.</summary>
    public async Task PublishAsync(SimulatorState? state)
    {
        var database = redis.GetDatabase();
        if (state is null)
        {
            await database.KeyDeleteAsync(Key);
        }
        else
        {
            var value = JsonSerializer.Serialize(state, JsonSerializerOptions.Web);
            await (_session is null ? database.StringSetAsync(Key, value) : database.StringSetAsync(Key, value, SessionStateLifetime));
        }

        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(Key), "changed");
        await LoadAsync(nothingStoredResets: true);
    }

    public override void Dispose()
    {
        base.Dispose();
        _loading.Dispose();
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
                    await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Key), (_, _) => _ = OnChangedAsync());
                }
                catch
                {
                    Volatile.Write(ref _subscribed, 0);
                    throw;
                }
            }

            // Nothing stored: nothing has changed since this session began, or Redis lost it; this replica keeps its own.
            await LoadAsync(nothingStoredResets: false);
        }
        catch (Exception exception) when (IsLoadFailure(exception))
        {
            LogLoadFailed(logger, exception.GetType().Name);
        }
    }

    private async Task OnChangedAsync()
    {
        try
        {
            await LoadAsync(nothingStoredResets: true);
        }
        catch (Exception exception) when (IsLoadFailure(exception))
        {
            LogLoadFailed(logger, exception.GetType().Name);
        }
    }

    // Redis away, or a stored profile this version cannot read: this replica keeps its own, at start as on a notice.
    private static bool IsLoadFailure(Exception exception) => exception is RedisException or TimeoutException or JsonException;

    /// <summary>
    /// Takes on what is stored. One load at a time, each read after the notice that caused it, so the last load
    /// reads the last change.
    /// </summary>
    private async Task LoadAsync(bool nothingStoredResets)
    {
        await _loading.WaitAsync();
        try
        {
            var stored = await redis.GetDatabase().StringGetAsync(Key);
            if (!stored.IsNullOrEmpty && JsonSerializer.Deserialize<SimulatorState>((string)stored!, JsonSerializerOptions.Web) is { } state)
            {
                settings.Replace(state);
            }
            else if (nothingStoredResets)
            {
                settings.Reset();
            }
        }
        finally
        {
            _loading.Release();
        }
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Warning,
        Message = "The simulator's shared profile could not be loaded from Redis ({ExceptionType}); this replica keeps its own until the next change")]
    private static partial void LogLoadFailed(ILogger logger, string exceptionType);
}
