using System.Diagnostics;
using OpenTelemetry.Trace;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Drops a span whose parent in this process is not recorded, whatever the configured sampler says,
/// so that the database or cache calls made by an untraced request (a health probe) are not exported as
/// orphans under <c>always_on</c> or <c>traceidratio</c>. Remote parents and roots go to the configured sampler.
/// </summary>
internal sealed class UnrecordedParentSampler(Sampler inner) : Sampler
{
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        var parent = samplingParameters.ParentContext;
        if (parent.TraceId != default && !parent.IsRemote && (parent.TraceFlags & ActivityTraceFlags.Recorded) == 0)
        {
            return new SamplingResult(SamplingDecision.Drop);
        }

        return inner.ShouldSample(samplingParameters);
    }
}
