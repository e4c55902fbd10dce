using Microsoft.Extensions.Hosting;

namespace VoiceHive.Tests.Services;

/// <summary>glibc's malloc thresholds, fixed at start-up unless the operator tunes them (NativeHeap).</summary>
public sealed class NativeHeapTests
{
    [Fact]
    public void FixesBothThresholdsOnGlibc()
    {
        // This machine is Debian (glibc): mallopt is bound and accepts both parameters.
        Assert.Equal(MallocThresholds.Fixed, NativeHeap.FixMallocThresholds(_ => null));
    }

    [Theory]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "262144")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "0")]
    [InlineData("GLIBC_TUNABLES", "glibc.rtld.nns=2:glibc.malloc.trim_threshold=1048576")]
    public void LeavesAnOperatorsOwnTuningAlone(string variable, string value)
    {
        Assert.Equal(MallocThresholds.OperatorSet, NativeHeap.FixMallocThresholds(name => name == variable ? value : null));
    }

    [Fact]
    public void OtherGlibcTunablesDoNotCount()
    {
        Assert.Equal(MallocThresholds.Fixed, NativeHeap.FixMallocThresholds(name => name == "GLIBC_TUNABLES" ? "glibc.rtld.nns=2" : null));
    }
}
