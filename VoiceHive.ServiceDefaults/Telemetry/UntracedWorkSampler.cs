using System.Diagnostics;
using OpenTelemetry.Trace;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Keeps work that no traced operation asked for out of the traces, whatever the configured sampler says:
/// <list type="bullet">
/// <item>a span whose parent in this process is not recorded, so that the database or cache calls made by an
/// untraced request (a health probe) are not exported as orphans under <c>always_on</c> or <c>traceidratio</c>;</item>
/// <item>a Redis command with no parent at all. Aspire's Redis tracing (StackExchange.Redis's profiler) collects the
/// commands made outside any span, such as the background loops' polls under <c>SuppressInstrumentationScope</c>, and
/// turns them into root spans seconds later on a thread of its own, where that suppression is not seen. A command made
/// for a traced operation always has its span as parent.</item>
/// </list>
/// Remote parents and every other root go to the configured sampler.
/// </summary>
internal sealed class UntracedWorkSampler(Sampler inner) : Sampler
{
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        var parent = samplingParameters.ParentContext;
        if (parent.TraceId != default && !parent.IsRemote && (parent.TraceFlags & ActivityTraceFlags.Recorded) == 0)
        {
            return new SamplingResult(SamplingDecision.Drop);
        }

        if (parent.TraceId == default && IsRedisCommand(samplingParameters.Tags))
        {
            return new SamplingResult(SamplingDecision.Drop);
        }

        return inner.ShouldSample(samplingParameters);
    }

    // The Redis instrumentation names its system in the tags it creates spans with (db.system; db.system.name in newer
    // semantic conventions).
    private static bool IsRedisCommand(IEnumerable<KeyValuePair<string, object?>>? tags)
    {
        if (tags is null)
        {
            return false;
        }

        foreach (var (key, value) in tags)
        {
            if (key is "db.system" or "db.system.name" && value is "redis")
            {
                return true;
            }
        }

        return false;
    }
}
