using System.Runtime.InteropServices;

namespace VoiceHive.ServiceDefaults;

/// <summary>What <see cref="NativeHeap.FixMallocThresholds()"/> did.</summary>
internal enum MallocThresholds
{
    /// <summary>Both thresholds fixed at glibc's defaults.</summary>
    Fixed,

    /// <summary>Left alone: the operator sets glibc's thresholds through its own variables.</summary>
    OperatorSet,

    /// <summary>Not glibc (Windows, macOS, musl, whose libc has no mallopt): nothing to fix.</summary>
    NotGlibc,

    /// <summary>glibc refused a value (mallopt answered 0): the thresholds are as they were.</summary>
    Refused,
}

/// <summary>
/// Keeps glibc's malloc trimming its arenas instead of raising its thresholds. Each time glibc frees a block it had
/// mapped that is larger than its mmap threshold, it raises that threshold to the block's size and its trim threshold
/// to twice that (up to 32 and 64 MiB on 64-bit), and then keeps that much free memory at the top of each of its
/// per-thread arenas (up to eight per CPU of the host, not of the container's quota) instead of returning it. In these
/// services the JIT is nearly the only caller of malloc: 64 KiB pages for each method it compiles, freed afterwards,
/// and under load it goes on compiling (tier-1 and instrumented recompilations) for minutes, on whichever thread
/// calls a method. With the raised thresholds those pages stayed: the worker's arenas grew from 30 to 49 MiB between
/// its 4th and 11th minute under load, while its managed heap stayed at 33 MiB; with the thresholds fixed at glibc's
/// defaults (128 KiB) they stayed at 18–20 MiB (VoiceHive.Benchmarks/Profiling.md, section 5). Pages freed below a
/// chunk still in use stay either way; fixing the thresholds also makes every allocation above 128 KiB a mapping of
/// its own, which the JIT's pages are not.
/// </summary>
/// <remarks>
/// The same as starting the process with <c>MALLOC_MMAP_THRESHOLD_=131072</c>, from <c>AddServiceDefaults</c> on,
/// however the process is started (the AppHost, a container, the tests, the benchmark runner). An operator's own
/// threshold settings (<c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c>, <c>MALLOC_TOP_PAD_</c>,
/// <c>MALLOC_MMAP_MAX_</c>, or the same four as <c>glibc.malloc.*</c> tunables) are left to rule; other tunables
/// (<c>glibc.malloc.arena_max</c>) are not threshold settings. mallopt is documented as not thread-safe with
/// allocations in flight: it stores the two values under the main arena's lock, which the heuristics that read them
/// tolerate. Process-wide, so once is enough and again is harmless.
/// </remarks>
internal static partial class NativeHeap
{
    /// <summary>glibc's default for both thresholds, which fixing them also stops it from raising.</summary>
    public const int Threshold = 128 * 1024;

    // mallopt(3) parameters (malloc.h).
    private const int TrimThresholdParameter = -1;
    private const int MmapThresholdParameter = -3;

    private static readonly string[] ThresholdSettings = ["mmap_threshold", "trim_threshold", "top_pad", "mmap_max"];

    public static MallocThresholds FixMallocThresholds() => FixMallocThresholds(Environment.GetEnvironmentVariable);

    internal static MallocThresholds FixMallocThresholds(Func<string, string?> environment)
    {
        if (!OperatingSystem.IsLinux())
        {
            return MallocThresholds.NotGlibc;
        }

        if (OperatorSetsThresholds(environment))
        {
            return MallocThresholds.OperatorSet;
        }

        try
        {
            // mallopt returns 1 when it took the value.
            return MallOpt(MmapThresholdParameter, Threshold) == 1 && MallOpt(TrimThresholdParameter, Threshold) == 1
                ? MallocThresholds.Fixed
                : MallocThresholds.Refused;
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            return MallocThresholds.NotGlibc;
        }
    }

    private static bool OperatorSetsThresholds(Func<string, string?> environment) =>
        ThresholdSettings.Any(setting => !string.IsNullOrEmpty(environment($"MALLOC_{setting.ToUpperInvariant()}_")))
        || (environment("GLIBC_TUNABLES") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(tunable => tunable.Split('=', 2)[0])
            .Any(name => ThresholdSettings.Any(setting => name == "glibc.malloc." + setting));

    // Internal for the tests, which set a threshold of their own with it before they call the fix.
    [LibraryImport("libc", EntryPoint = "mallopt")]
    internal static partial int MallOpt(int parameter, int value);
}
