using System.Runtime.InteropServices;
using VoiceHive.ServiceDefaults;

namespace VoiceHive.Tests.ServiceDefaults;

/// <summary>glibc's malloc thresholds, fixed at start-up unless the operator sets them (NativeHeap).</summary>
public sealed class NativeHeapTests
{
    [Fact]
    public unsafe void ABlockBelowARaisedThresholdIsMappedAfterTheFix()
    {
        // A threshold glibc can reach by itself after freeing large mapped blocks: 32 MiB, its ceiling. Set here directly,
        // with the test's own M_MMAP_THRESHOLD (-3 in malloc.h, so a wrong constant in NativeHeap is caught), since another
        // test in this process may have fixed it already.
        Assert.SkipUnless(HasMallOpt(), NoMallOpt);
        Assert.Equal(1, NativeHeap.MallOpt(-3, 32 << 20));
        Assert.Equal(MallocThresholds.Fixed, NativeHeap.FixMallocThresholds(_ => null));

        // glibc maps a block only when no free chunk of an arena can hold it, so the block is large enough that none
        // in this process can (24 MiB), and below the raised threshold: it is mapped only if the fix took. A chunk's
        // size word, just before the block, has IS_MMAPPED (2) set for a mapped chunk.
        var block = NativeMemory.Alloc(24 << 20);
        try
        {
            Assert.True((((nint*)block)[-1] & 2) != 0, "a 24 MiB block came from an arena: the mmap threshold is not fixed");
        }
        finally
        {
            NativeMemory.Free(block);
        }
    }

    [Theory]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "262144")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "0")]
    [InlineData("MALLOC_TOP_PAD_", "0")]
    [InlineData("MALLOC_MMAP_MAX_", "0")]
    [InlineData("GLIBC_TUNABLES", "glibc.rtld.nns=2:glibc.malloc.trim_threshold=1048576")]
    public void LeavesAnOperatorsOwnThresholdsAlone(string variable, string value)
    {
        Assert.Equal(MallocThresholds.OperatorSet, NativeHeap.FixMallocThresholds(name => name == variable ? value : null));
    }

    [Theory]
    [InlineData("glibc.rtld.nns=2")]
    [InlineData("glibc.malloc.arena_max=2")]
    [InlineData("glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1")]
    public void OtherTunablesAreNotThresholdSettings(string tunables)
    {
        Assert.SkipUnless(HasMallOpt(), NoMallOpt);
        Assert.Equal(MallocThresholds.Fixed, NativeHeap.FixMallocThresholds(name => name == "GLIBC_TUNABLES" ? tunables : null));
    }

    private const string NoMallOpt = "mallopt(3) is glibc's: on Windows, macOS or musl there is no threshold to fix";

    /// <summary>Whether this process's libc, found as NativeHeap's binding finds it, has mallopt (without calling it).</summary>
    private static bool HasMallOpt() =>
        OperatingSystem.IsLinux()
        && NativeLibrary.TryLoad("libc", typeof(NativeHeap).Assembly, searchPath: null, out var libc)
        && NativeLibrary.TryGetExport(libc, "mallopt", out _);
}
