namespace VoiceHive.Traffic;

/// <summary>Whether traffic flows and how fast, changed at runtime; and what it has done so far.</summary>
public sealed class TrafficState(TrafficOptions options)
{
    public const double MinimumRate = 0.01;
    public const double MaximumRate = 100;

    private readonly Lock _gate = new();
    private long _started;
    private long _completed;
    private long _failed;

    public bool Running { get; private set; } = options.Running;

    public double CallsPerSecond { get; private set; } = options.CallsPerSecond;

    public event Action? Changed;

    public void Set(bool? running, double? callsPerSecond)
    {
        lock (_gate)
        {
            Running = running ?? Running;
            CallsPerSecond = callsPerSecond ?? CallsPerSecond;
        }

        Changed?.Invoke();
    }

    public void CallStarted() => Interlocked.Increment(ref _started);

    public void CallCompleted() => Interlocked.Increment(ref _completed);

    public void CallFailed() => Interlocked.Increment(ref _failed);

    public TrafficStatus Status() => new(Running, CallsPerSecond, Interlocked.Read(ref _started), Interlocked.Read(ref _completed), Interlocked.Read(ref _failed));
}

/// <summary>The generator's state as the API shows it.</summary>
public sealed record TrafficStatus(bool Running, double CallsPerSecond, long CallsStarted, long CallsCompleted, long CallsFailed);
