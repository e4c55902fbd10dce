using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// The trace sampler, from <c>OTEL_TRACES_SAMPLER</c> / <c>OTEL_TRACES_SAMPLER_ARG</c> as the
/// OpenTelemetry specification names them, or else the VoiceHive guide's <c>TRACE_SAMPLE_RATE</c>
/// (a parent-based ratio). Without either, every trace is kept.
/// Read here although the SDK reads the two <c>OTEL_</c> variables itself: the guide's variable has to yield to
/// them, the sampler is wrapped (<see cref="UntracedWorkSampler"/>), which replaces the SDK's, and a bad value has
/// to stop the start naming the variable, where the SDK reports it to its event source and falls back to a default.
/// </summary>
public sealed record SamplerSettings(string Name, double? Ratio)
{
    public static SamplerSettings FromConfiguration(IConfiguration configuration)
    {
        var name = configuration["OTEL_TRACES_SAMPLER"]?.Trim().ToLowerInvariant();
        var argument = configuration["OTEL_TRACES_SAMPLER_ARG"];
        if (!string.IsNullOrEmpty(name))
        {
            return name switch
            {
                "always_on" or "always_off" or "parentbased_always_on" or "parentbased_always_off" => new(name, null),
                "traceidratio" or "parentbased_traceidratio" => new(name, ParseRatio(argument, "OTEL_TRACES_SAMPLER_ARG", defaultValue: 1.0)),
                _ => throw new StartupFailedException(
                    $"OTEL_TRACES_SAMPLER '{name}' is not supported; use always_on, always_off, traceidratio or their parentbased_ forms."),
            };
        }

        var rate = configuration["TRACE_SAMPLE_RATE"];
        return string.IsNullOrWhiteSpace(rate)
            ? new("parentbased_always_on", null)
            : new("parentbased_traceidratio", ParseRatio(rate, "TRACE_SAMPLE_RATE", defaultValue: 1.0));
    }

    public Sampler CreateSampler() => Name switch
    {
        "always_on" => new AlwaysOnSampler(),
        "always_off" => new AlwaysOffSampler(),
        "traceidratio" => new TraceIdRatioBasedSampler(Ratio ?? 1.0),
        "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
        "parentbased_traceidratio" => new ParentBasedSampler(new TraceIdRatioBasedSampler(Ratio ?? 1.0)),
        _ => new ParentBasedSampler(new AlwaysOnSampler()),
    };

    private static double ParseRatio(string? value, string key, double defaultValue)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return defaultValue;
        }

        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || ratio is < 0 or > 1 || double.IsNaN(ratio))
        {
            throw new StartupFailedException($"{key} must be a number from 0 to 1, not '{value}'.");
        }

        return ratio;
    }
}
