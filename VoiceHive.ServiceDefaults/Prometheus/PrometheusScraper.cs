using System.Buffers;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace VoiceHive.ServiceDefaults.Prometheus;

/// <summary>
/// A pull-mode metric reader attached to the host's MeterProvider: each scrape collects the current
/// cumulative values and serialises the metrics the endpoint asks for. Scrapes are serialised so
/// two concurrent scrapes never interleave one collection.
/// </summary>
public sealed partial class PrometheusScraper : IDisposable
{
    private const int CollectTimeoutMilliseconds = 10_000;

    private readonly PullExporter _exporter = new();
    private readonly PrometheusSerializer _serializer = new();
    private readonly Lock _gate = new();
    private readonly ILogger<PrometheusScraper> _logger;
    private int _reportedConflicts;

    public PrometheusScraper(ILogger<PrometheusScraper> logger)
    {
        _logger = logger;
        Reader = new BaseExportingMetricReader(_exporter)
        {
            TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
        };
    }

    internal MetricReader Reader { get; }

    /// <summary>Collects and writes every metric whose meter <paramref name="includeMeter"/> accepts; false when collection failed.</summary>
    internal bool TryScrape(IBufferWriter<byte> output, Func<string, bool> includeMeter, ExpositionFormat format)
    {
        lock (_gate)
        {
            _exporter.OnExport = (in Batch<Metric> batch) =>
            {
                _serializer.Write(output, batch, metric => includeMeter(metric.MeterName), format);
                return ExportResult.Success;
            };
            try
            {
                var collected = Reader.Collect(CollectTimeoutMilliseconds);
                ReportConflicts();
                return collected;
            }
            finally
            {
                _exporter.OnExport = null;
            }
        }
    }

    public void Dispose()
    {
        Reader.Dispose();
        _exporter.Dispose();
    }

    private void ReportConflicts()
    {
        for (; _reportedConflicts < _serializer.Conflicts.Count; _reportedConflicts++)
        {
            LogNameConflict(_logger, _serializer.Conflicts[_reportedConflicts]);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Metric {Metric} is left out of the Prometheus exposition: another metric of a different type has the same Prometheus name")]
    private static partial void LogNameConflict(ILogger logger, string metric);

    internal delegate ExportResult ExportBatch(in Batch<Metric> batch);

    // Declared push-capable (the default) on purpose: the SDK lets a pull-only exporter be collected only
    // from inside its own Prometheus exporter. Nothing pushes on a timer here: only Collect() (a scrape)
    // and the provider's flush at shutdown run an export, and outside a scrape the batch is discarded.
    private sealed class PullExporter : BaseExporter<Metric>
    {
        public ExportBatch? OnExport { get; set; }

        public override ExportResult Export(in Batch<Metric> batch) =>
            OnExport is { } export ? export(batch) : ExportResult.Success;
    }
}
