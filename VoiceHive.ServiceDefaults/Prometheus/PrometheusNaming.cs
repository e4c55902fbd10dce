using System.Text;

namespace VoiceHive.ServiceDefaults.Prometheus;

/// <summary>
/// Turns OpenTelemetry instrument names, units and tag keys into Prometheus names, following
/// the rules of OpenTelemetry's Prometheus exporter: invalid characters become underscores, the
/// unit becomes a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, annotations such
/// as <c>{call}</c> dropped), and counters carry <c>_total</c>. One addition keeps the output clean
/// for <c>promtool check metrics</c>: a gauge whose name ends in a suffix Prometheus reserves for
/// histograms or counters (<c>_count</c>, <c>_sum</c>, <c>_bucket</c>, <c>_total</c>: <c>dotnet.assembly.count</c>) gets <c>_current</c> appended
/// (<c>dotnet_assembly_count_current</c>).
/// </summary>
internal static class PrometheusNaming
{
    private static readonly Dictionary<string, string> UnitNames = new(StringComparer.Ordinal)
    {
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["TiBy"] = "tibibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["TBy"] = "terabytes",
        ["m"] = "meters",
        ["V"] = "volts",
        ["A"] = "amperes",
        ["J"] = "joules",
        ["W"] = "watts",
        ["g"] = "grams",
        ["Cel"] = "celsius",
        ["Hz"] = "hertz",
        ["%"] = "percent",
        ["$"] = "dollars",
    };

    private static readonly Dictionary<string, string> PerUnitNames = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["m"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["w"] = "week",
        ["mo"] = "month",
        ["y"] = "year",
    };

    /// <summary>The family name: what <c># TYPE</c> names in OpenMetrics (a counter's without <c>_total</c>).</summary>
    public static string FamilyName(string instrumentName, string? unit, PrometheusType type)
    {
        var name = SanitizeMetricName(instrumentName);
        var unitSuffix = UnitSuffix(unit, type);

        if (type == PrometheusType.Counter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^"_total".Length];
        }

        if (unitSuffix.Length > 0 && !name.EndsWith("_" + unitSuffix, StringComparison.Ordinal))
        {
            name = name + "_" + unitSuffix;
        }

        if (type == PrometheusType.Gauge && (name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal)
            || name.EndsWith("_bucket", StringComparison.Ordinal) || name.EndsWith("_total", StringComparison.Ordinal)))
        {
            name += "_current";
        }

        return name;
    }

    /// <summary>The unit as OpenMetrics's <c># UNIT</c> line gives it, or empty.</summary>
    public static string UnitSuffix(string? unit, PrometheusType type)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return "";
        }

        var withoutAnnotations = RemoveAnnotations(unit).Trim();
        if (withoutAnnotations.Length == 0)
        {
            return "";
        }

        if (withoutAnnotations == "1")
        {
            return type == PrometheusType.Gauge ? "ratio" : "";
        }

        var slash = withoutAnnotations.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var numerator = withoutAnnotations[..slash];
            var denominator = withoutAnnotations[(slash + 1)..];
            var top = numerator.Length == 0 ? "" : UnitNames.GetValueOrDefault(numerator, numerator);
            var bottom = PerUnitNames.GetValueOrDefault(denominator, denominator);
            var combined = top.Length == 0 ? "per_" + bottom : top + "_per_" + bottom;
            return SanitizeMetricName(combined).Trim('_');
        }

        return SanitizeMetricName(UnitNames.GetValueOrDefault(withoutAnnotations, withoutAnnotations)).Trim('_');
    }

    /// <summary>A metric name: <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, runs of invalid characters folded to one underscore.</summary>
    public static string SanitizeMetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>A label name: <c>[a-zA-Z_][a-zA-Z0-9_]*</c>, runs of invalid characters folded to one underscore.</summary>
    public static string SanitizeLabelName(string name) => Sanitize(name, allowColon: false);

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0)
        {
            return "_";
        }

        var builder = new StringBuilder(name.Length + 1);
        var lastWasUnderscore = false;
        foreach (var c in name)
        {
            var valid = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' || (allowColon && c == ':');
            if (valid)
            {
                if (builder.Length == 0 && c is >= '0' and <= '9')
                {
                    builder.Append('_');
                }

                builder.Append(c);
                lastWasUnderscore = c == '_';
            }
            else if (!lastWasUnderscore)
            {
                builder.Append('_');
                lastWasUnderscore = true;
            }
        }

        return builder.ToString();
    }

    private static string RemoveAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }

        var builder = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}

internal enum PrometheusType
{
    Counter,
    Gauge,
    Histogram,
}
