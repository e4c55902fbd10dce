using System.Diagnostics;
using OpenTelemetry.Trace;
using VoiceHive.ServiceDefaults.Telemetry;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class TracingFilterTests
{
    private static readonly ActivityTraceId TraceId = ActivityTraceId.CreateRandom();

    [Theory]
    [InlineData("/health", true)]
    [InlineData("/health/", true)]
    [InlineData("/HEALTH", true)]
    [InlineData("/alive", true)]
    [InlineData("/metrics", true)]
    [InlineData("/monitoring/metrics", true)]
    [InlineData("/monitoring/scrape-targets", true)]
    [InlineData("/monitoring/alerts", false)]
    [InlineData("/api/calls", false)]
    [InlineData("/healthz", false)]
    public void ProbeAndScrapePathsAreNotTraced(string path, bool untraced) =>
        Assert.Equal(untraced, Microsoft.Extensions.Hosting.Extensions.IsProbeOrScrape(path));

    [Fact]
    public void ChildrenOfAnUnrecordedLocalParentAreDroppedWhateverTheSampler()
    {
        var sampler = new UntracedWorkSampler(new AlwaysOnSampler());
        var parent = new ActivityContext(TraceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: false);

        var decision = sampler.ShouldSample(new SamplingParameters(parent, TraceId, "SELECT", ActivityKind.Client)).Decision;

        Assert.Equal(SamplingDecision.Drop, decision);
    }

    [Theory]
    [InlineData("db.system")]
    [InlineData("db.system.name")]
    public void ARedisCommandWithoutAParentIsDroppedWhateverTheSampler(string systemTag)
    {
        // What Aspire's Redis tracing makes of a background loop's poll: a root span, drained later on its own thread.
        var sampler = new UntracedWorkSampler(new AlwaysOnSampler());
        KeyValuePair<string, object?>[] tags = [new(systemTag, "redis")];

        var decision = sampler.ShouldSample(new SamplingParameters(default, TraceId, "XREADGROUP", ActivityKind.Client, tags)).Decision;

        Assert.Equal(SamplingDecision.Drop, decision);
    }

    [Fact]
    public void ARedisCommandUnderATracedOperationAndOtherRootsAreLeftToTheConfiguredSampler()
    {
        var inner = new RecordOnlySampler();
        var sampler = new UntracedWorkSampler(inner);
        var parent = new ActivityContext(TraceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: false);
        KeyValuePair<string, object?>[] redis = [new("db.system", "redis")];
        KeyValuePair<string, object?>[] postgres = [new("db.system", "postgresql")];

        var child = sampler.ShouldSample(new SamplingParameters(parent, TraceId, "XADD", ActivityKind.Client, redis)).Decision;
        var otherRoot = sampler.ShouldSample(new SamplingParameters(default, TraceId, "SELECT", ActivityKind.Client, postgres)).Decision;

        Assert.Equal(SamplingDecision.RecordOnly, child);
        Assert.Equal(SamplingDecision.RecordOnly, otherRoot);
    }

    [Theory]
    [InlineData(true, ActivityTraceFlags.None)]
    [InlineData(false, ActivityTraceFlags.Recorded)]
    public void RemoteOrRecordedParentsAndRootsAreLeftToTheConfiguredSampler(bool remote, ActivityTraceFlags flags)
    {
        // The inner sampler answers what neither a hard-coded "sample" nor "drop" would: RecordOnly.
        var inner = new RecordOnlySampler();
        var sampler = new UntracedWorkSampler(inner);
        var parent = new ActivityContext(TraceId, ActivitySpanId.CreateRandom(), flags, isRemote: remote);

        var withParent = sampler.ShouldSample(new SamplingParameters(parent, TraceId, "GET", ActivityKind.Server)).Decision;
        var root = sampler.ShouldSample(new SamplingParameters(default, TraceId, "GET", ActivityKind.Server)).Decision;

        Assert.Equal(SamplingDecision.RecordOnly, withParent);
        Assert.Equal(SamplingDecision.RecordOnly, root);
        Assert.Equal([parent, default], inner.Asked);
    }

    private sealed class RecordOnlySampler : Sampler
    {
        public List<ActivityContext> Asked { get; } = [];

        public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
        {
            Asked.Add(samplingParameters.ParentContext);
            return new SamplingResult(SamplingDecision.RecordOnly);
        }
    }
}
