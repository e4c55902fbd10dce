using System.Diagnostics.Metrics;

namespace VoiceHive.Traffic;

/// <summary>
/// Places calls at <see cref="TrafficState.CallsPerSecond"/> while <see cref="TrafficState.Running"/>, each on its own
/// (a slow call does not hold the next one back), at most <see cref="TrafficOptions.MaxConcurrentCalls"/> at once.
/// A failed call, however it fails, is counted and logged without what the caller said, and the traffic goes on.
/// </summary>
public sealed partial class TrafficGenerator(
    TrafficState state,
    OrchestratorClient orchestrator,
    TrafficMetrics metrics,
    Microsoft.Extensions.Options.IOptions<TrafficOptions> options,
    TimeProvider timeProvider,
    ILogger<TrafficGenerator> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var capacity = options.Value.MaxConcurrentCalls;
        using var slots = new SemaphoreSlim(capacity);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        state.Changed += () => Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        LogState(logger, state.Running, state.CallsPerSecond);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var signal = Volatile.Read(ref changed).Task;
                if (!state.Running)
                {
                    await signal.WaitAsync(stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    LogState(logger, state.Running, state.CallsPerSecond);
                    continue;
                }

                if (slots.Wait(0, CancellationToken.None))
                {
                    _ = PlaceAsync(slots, stoppingToken);
                }
                else
                {
                    metrics.Skipped();
                }

                var interval = TimeSpan.FromSeconds(1 / state.CallsPerSecond);
                // A change of rate or state takes effect at once, not after the old interval.
                await Task.WhenAny(Task.Delay(interval, timeProvider, stoppingToken), signal);
                if (signal.IsCompleted)
                {
                    LogState(logger, state.Running, state.CallsPerSecond);
                }
            }
        }
        finally
        {
            // The calls in flight are cancelled with stoppingToken: they end and give their slots back before the
            // semaphore goes.
            for (var i = 0; i < capacity; i++)
            {
                await slots.WaitAsync(CancellationToken.None);
            }
        }
    }

    private async Task PlaceAsync(SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            state.CallStarted();
            await orchestrator.PlaceAsync(CallScript.Next(Random.Shared, options.Value.DroppedCallShare), stoppingToken);
            state.CallCompleted();
            metrics.Placed("completed");
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // Whatever failed (the orchestrator's answer, the network, the resilience pipeline's timeout or open
            // circuit, an answer this cannot read), the call is counted as failed and the traffic goes on.
            state.CallFailed();
            metrics.Placed("failed");
            LogCallFailed(logger, exception.GetType().Name, (exception as HttpRequestException)?.StatusCode is { } status ? (int)status : 0);
        }
        finally
        {
            slots.Release();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Traffic {Running} at {CallsPerSecond} calls/s")]
    private static partial void LogState(ILogger logger, bool running, double callsPerSecond);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "A call failed ({ExceptionType}, HTTP {Status})")]
    private static partial void LogCallFailed(ILogger logger, string exceptionType, int status);
}

/// <summary>Meter <c>voicehive.traffic</c>: the calls this generator placed, by result.</summary>
public sealed class TrafficMetrics
{
    public const string MeterName = "voicehive.traffic";

    private readonly Counter<long> _calls;
    private readonly Counter<long> _skipped;

    public TrafficMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _calls = meter.CreateCounter<long>("voicehive.traffic.calls", unit: "{call}", description: "Calls the traffic generator placed, by result.");
        _skipped = meter.CreateCounter<long>("voicehive.traffic.skipped", unit: "{call}",
            description: "Calls not placed because as many as allowed were still in flight.");
    }

    public void Placed(string result) => _calls.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Skipped() => _skipped.Add(1);
}
