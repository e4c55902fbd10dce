using System.Runtime.InteropServices;

namespace Microsoft.Extensions.Hosting;

/// <summary>What <see cref="NativeHeap.FixMallocThresholds"/> did.</summary>
public enum MallocThresholds
{
    /// <summary>Both thresholds fixed at glibc's defaults.</summary>
    Fixed,

    /// <summary>Left alone: the operator tunes glibc's malloc through its own variables.</summary>
    OperatorSet,

    /// <summary>Not glibc on Linux (Windows, macOS, musl): nothing to fix.</summary>
    NotGlibc,
}

/// <summary>
/// Keeps glibc's malloc returning the memory the JIT frees. glibc raises its mmap and trim thresholds (up to 32 and
/// 64 MiB) the first time it frees a large block it had mapped, and from then on keeps freed memory at the top of each
/// of its per-thread arenas (up to eight per core) instead of returning it. In these services the JIT is nearly the
/// only caller of malloc: 64 KiB pages for each method it compiles, freed afterwards, and under load it goes on
/// compiling (tier-1 and instrumented recompilations) for minutes, on whichever thread calls a method. With the
/// raised thresholds those pages piled up: the worker's malloc arenas grew from 30 to 49 MiB through ten minutes of
/// load, its resident memory by 10 %, while its managed heap stayed at 33 MiB. With the thresholds fixed at glibc's
/// defaults (128 KiB) they stayed at 18 MiB (VoiceHive.Benchmarks/Profiling.md, section 5). The same as setting
/// <c>MALLOC_MMAP_THRESHOLD_=131072</c>, but for however the process is started; an operator's own
/// <c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c> or <c>glibc.malloc</c> tunable is left to rule.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>glibc's default for both thresholds, which fixing them also stops it from raising.</summary>
    public const int Threshold = 128 * 1024;

    // mallopt(3) parameters.
    private const int TrimThresholdParameter = -1;
    private const int MmapThresholdParameter = -3;

    private static readonly string[] OperatorVariables = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"];

    /// <summary>Fixes the thresholds for this process (process-wide, so once is enough; again is harmless).</summary>
    public static MallocThresholds FixMallocThresholds() => FixMallocThresholds(Environment.GetEnvironmentVariable);

    internal static MallocThresholds FixMallocThresholds(Func<string, string?> environment)
    {
        if (OperatorVariables.Any(name => !string.IsNullOrEmpty(environment(name)))
            || environment("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) == true)
        {
            return MallocThresholds.OperatorSet;
        }

        if (!OperatingSystem.IsLinux())
        {
            return MallocThresholds.NotGlibc;
        }

        try
        {
            // mallopt returns 1 on success; musl's returns 0 and does nothing.
            return MallOpt(MmapThresholdParameter, Threshold) == 1 && MallOpt(TrimThresholdParameter, Threshold) == 1
                ? MallocThresholds.Fixed
                : MallocThresholds.NotGlibc;
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            return MallocThresholds.NotGlibc;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);
}
