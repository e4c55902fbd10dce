using System.Buffers;
using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace VoiceHive.ServiceDefaults.Prometheus;

/// <summary>
/// Writes a collected batch of OpenTelemetry metrics as Prometheus text 0.0.4 or OpenMetrics 1.0.
/// Stand-in for OpenTelemetry.Exporter.Prometheus.AspNetCore (not restorable here); it follows that
/// exporter's naming so that dashboards and rules written against it work unchanged.
/// Not thread-safe: the scrape endpoint serialises calls.
/// </summary>
internal sealed class PrometheusSerializer
{
    private readonly Dictionary<Metric, MetricFamily?> _families = [];
    private readonly Dictionary<string, byte[]> _labelNames = new(StringComparer.Ordinal);
    // Every sample name a family writes, with the family that owns it: a counter "x" writes x_total,
    // which a gauge "x_total" would write too.
    private readonly Dictionary<string, (string Family, PrometheusType Type)> _claimedNames = new(StringComparer.Ordinal);

    /// <summary>Names of metrics left out because another metric already took their Prometheus name with another type.</summary>
    public List<string> Conflicts { get; } = [];

    public void Write(IBufferWriter<byte> output, in Batch<Metric> batch, Func<Metric, bool> include, ExpositionFormat format)
    {
        // Families must be contiguous in the output, and two instruments can map to one name.
        var groups = new List<(MetricFamily Family, List<Metric> Metrics)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var metric in batch)
        {
            if (!include(metric) || Describe(metric) is not { } family)
            {
                continue;
            }

            if (index.TryGetValue(family.Name, out var position))
            {
                groups[position].Metrics.Add(metric);
            }
            else
            {
                index[family.Name] = groups.Count;
                groups.Add((family, [metric]));
            }
        }

        var writer = new ExpositionWriter(output);
        foreach (var (family, metrics) in groups)
        {
            WriteFamily(writer, family, metrics, format);
        }

        if (format == ExpositionFormat.OpenMetrics)
        {
            writer.Ascii("# EOF\n");
        }
    }

    private MetricFamily? Describe(Metric metric)
    {
        if (_families.TryGetValue(metric, out var cached))
        {
            return cached;
        }

        MetricFamily? family = null;
        if (TypeOf(metric.MetricType) is { } type)
        {
            var name = PrometheusNaming.FamilyName(metric.Name, metric.Unit, type);
            var sampleNames = SampleNames(name, type);
            if (sampleNames.Any(sample => _claimedNames.TryGetValue(sample, out var owner) && owner != (name, type)))
            {
                Conflicts.Add($"{metric.MeterName}/{metric.Name}");
            }
            else
            {
                foreach (var sample in sampleNames)
                {
                    _claimedNames[sample] = (name, type);
                }

                var help = string.IsNullOrWhiteSpace(metric.Description) ? metric.Name : metric.Description;
                family = new MetricFamily(name, type, PrometheusNaming.UnitSuffix(metric.Unit, type), help);
            }
        }

        _families[metric] = family;
        return family;
    }

    private static string[] SampleNames(string family, PrometheusType type) => type switch
    {
        PrometheusType.Counter => [family, family + "_total"],
        PrometheusType.Histogram => [family, family + "_bucket", family + "_sum", family + "_count"],
        _ => [family],
    };

    private static PrometheusType? TypeOf(MetricType metricType) => metricType switch
    {
        MetricType.LongSum or MetricType.DoubleSum => PrometheusType.Counter,
        MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic => PrometheusType.Gauge,
        MetricType.LongGauge or MetricType.DoubleGauge => PrometheusType.Gauge,
        MetricType.Histogram => PrometheusType.Histogram,
        _ => null, // Exponential histograms are not configured by any view here.
    };

    private void WriteFamily(ExpositionWriter writer, MetricFamily family, List<Metric> metrics, ExpositionFormat format)
    {
        var openMetrics = format == ExpositionFormat.OpenMetrics;
        // The text format names a counter family with its _total; OpenMetrics names it without.
        var typeName = family.Type == PrometheusType.Counter && !openMetrics ? family.Name + "_total" : family.Name;

        writer.Ascii("# HELP ").Ascii(typeName).Ascii(" ").Escaped(family.Help, escapeQuotes: openMetrics).Ascii("\n");
        writer.Ascii("# TYPE ").Ascii(typeName).Ascii(family.Type switch
        {
            PrometheusType.Counter => " counter\n",
            PrometheusType.Histogram => " histogram\n",
            _ => " gauge\n",
        });
        if (openMetrics && family.Unit.Length > 0 && family.Name.EndsWith("_" + family.Unit, StringComparison.Ordinal))
        {
            writer.Ascii("# UNIT ").Ascii(family.Name).Ascii(" ").Ascii(family.Unit).Ascii("\n");
        }

        foreach (var metric in metrics)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                switch (family.Type)
                {
                    case PrometheusType.Counter:
                        writer.Ascii(family.Name).Ascii("_total");
                        WriteLabels(writer, point.Tags, le: null);
                        if (metric.MetricType == MetricType.LongSum)
                        {
                            WriteNumber(writer, point.GetSumLong());
                        }
                        else
                        {
                            WriteNumber(writer, point.GetSumDouble());
                        }

                        break;
                    case PrometheusType.Gauge:
                        writer.Ascii(family.Name);
                        WriteLabels(writer, point.Tags, le: null);
                        switch (metric.MetricType)
                        {
                            case MetricType.LongGauge:
                                WriteNumber(writer, point.GetGaugeLastValueLong());
                                break;
                            case MetricType.LongSumNonMonotonic:
                                WriteNumber(writer, point.GetSumLong());
                                break;
                            case MetricType.DoubleGauge:
                                WriteNumber(writer, point.GetGaugeLastValueDouble());
                                break;
                            default:
                                WriteNumber(writer, point.GetSumDouble());
                                break;
                        }

                        break;
                    case PrometheusType.Histogram:
                        WriteHistogram(writer, family.Name, point);
                        break;
                }
            }
        }
    }

    private void WriteHistogram(ExpositionWriter writer, string name, in MetricPoint point)
    {
        long cumulative = 0;
        var wroteInfinity = false;
        foreach (var bucket in point.GetHistogramBuckets())
        {
            cumulative += bucket.BucketCount;
            writer.Ascii(name).Ascii("_bucket");
            WriteLabels(writer, point.Tags, bucket.ExplicitBound);
            writer.Long(cumulative).Ascii("\n");
            wroteInfinity |= double.IsPositiveInfinity(bucket.ExplicitBound);
        }

        if (!wroteInfinity)
        {
            // A histogram configured without boundaries still needs its +Inf bucket.
            writer.Ascii(name).Ascii("_bucket");
            WriteLabels(writer, point.Tags, double.PositiveInfinity);
            writer.Long(point.GetHistogramCount()).Ascii("\n");
        }

        writer.Ascii(name).Ascii("_sum");
        WriteLabels(writer, point.Tags, le: null);
        writer.Double(point.GetHistogramSum()).Ascii("\n");

        writer.Ascii(name).Ascii("_count");
        WriteLabels(writer, point.Tags, le: null);
        writer.Long(point.GetHistogramCount()).Ascii("\n");
    }

    private static void WriteNumber(ExpositionWriter writer, long value) => writer.Long(value).Ascii("\n");

    private static void WriteNumber(ExpositionWriter writer, double value) => writer.Double(value).Ascii("\n");

    private void WriteLabels(ExpositionWriter writer, ReadOnlyTagCollection tags, double? le)
    {
        if (tags.Count == 0 && le is null)
        {
            writer.Ascii(" ");
            return;
        }

        writer.Ascii("{");
        var first = true;
        foreach (var (name, value) in Labels(tags, reserveLe: le is not null))
        {
            if (!first)
            {
                writer.Ascii(",");
            }

            first = false;
            writer.Raw(name).Ascii("=\"").Escaped(value, escapeQuotes: true).Ascii("\"");
        }

        if (le is { } bound)
        {
            writer.Ascii(first ? "le=\"" : ",le=\"").Double(bound).Ascii("\"");
        }

        writer.Ascii("} ");
    }

    /// <summary>
    /// The labels of a point. A label name may appear only once: tags whose keys sanitise to the same name
    /// are merged, their values joined with ';' in key order (OpenTelemetry's rule), and a histogram's own
    /// <c>le</c> wins over a tag of that name.
    /// </summary>
    private List<(byte[] Name, string Value)> Labels(ReadOnlyTagCollection tags, bool reserveLe)
    {
        var labels = new List<(byte[] Name, string Value, string Key)>(tags.Count);
        foreach (var tag in tags)
        {
            var name = LabelName(tag.Key);
            if (reserveLe && name.AsSpan().SequenceEqual("le"u8))
            {
                continue;
            }

            var value = LabelValue(tag.Value);
            var existing = labels.FindIndex(l => l.Name.AsSpan().SequenceEqual(name));
            if (existing < 0)
            {
                labels.Add((name, value, tag.Key));
            }
            else
            {
                var other = labels[existing];
                labels[existing] = string.CompareOrdinal(other.Key, tag.Key) <= 0
                    ? (name, other.Value + ";" + value, other.Key)
                    : (name, value + ";" + other.Value, tag.Key);
            }
        }

        return labels.ConvertAll(l => (l.Name, l.Value));
    }

    private byte[] LabelName(string key)
    {
        if (!_labelNames.TryGetValue(key, out var bytes))
        {
            bytes = Encoding.UTF8.GetBytes(PrometheusNaming.SanitizeLabelName(key));
            _labelNames[key] = bytes;
        }

        return bytes;
    }

    private static string LabelValue(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        System.Collections.IEnumerable sequence => string.Join(",", sequence.Cast<object?>().Select(LabelValue)),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private sealed record MetricFamily(string Name, PrometheusType Type, string Unit, string Help);
}
