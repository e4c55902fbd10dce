using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using VoiceHive.ServiceDefaults.Prometheus;

namespace VoiceHive.Tests.ServiceDefaults;

/// <summary>Exact output for every instrument kind, in both formats, including units and escaping.</summary>
public sealed class ExpositionGoldenTests : IDisposable
{
    private readonly Meter _meter = new("golden." + Guid.NewGuid().ToString("N"));
    private readonly PrometheusScraper _scraper = new(NullLogger<PrometheusScraper>.Instance);
    private readonly MeterProvider _provider;

    public ExpositionGoldenTests()
    {
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(_meter.Name).AddReader(_scraper.Reader).Build();

        _meter.CreateCounter<long>("voicehive.call.success", description: "Calls the system handled.")
            .Add(7, new("hotel_id", "grand-plaza"), new("outcome", "resolved"));
        _meter.CreateCounter<double>("test.energy", unit: "J", description: "Energy used.").Add(1.5);
        _meter.CreateUpDownCounter<long>("voicehive.calls.active", unit: "{call}", description: "Calls in progress.").Add(3);
        _meter.CreateObservableGauge("test.temperature",
            () => new Measurement<double>(-2.5, new KeyValuePair<string, object?>("room", "a\"b\\c\nd")),
            unit: "Cel", description: "Line one\nline two with a back\\slash.");
        _meter.CreateGauge<long>("test.queue.depth").Record(42);
        var histogram = _meter.CreateHistogram("voicehive.pms.response", unit: "s", description: "PMS response time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1] });
        foreach (var seconds in (double[])[0.25, 0.5, 0.5, 2])
        {
            histogram.Record(seconds, new KeyValuePair<string, object?>("operation", "lookup"));
        }
    }

    [Fact]
    public void PrometheusTextFormatIsExact()
    {
        const string expected = """
            # HELP voicehive_call_success_total Calls the system handled.
            # TYPE voicehive_call_success_total counter
            voicehive_call_success_total{hotel_id="grand-plaza",outcome="resolved"} 7
            # HELP test_energy_joules_total Energy used.
            # TYPE test_energy_joules_total counter
            test_energy_joules_total 1.5
            # HELP voicehive_calls_active Calls in progress.
            # TYPE voicehive_calls_active gauge
            voicehive_calls_active 3
            # HELP test_temperature_celsius Line one\nline two with a back\\slash.
            # TYPE test_temperature_celsius gauge
            test_temperature_celsius{room="a\"b\\c\nd"} -2.5
            # HELP test_queue_depth test.queue.depth
            # TYPE test_queue_depth gauge
            test_queue_depth 42
            # HELP voicehive_pms_response_seconds PMS response time.
            # TYPE voicehive_pms_response_seconds histogram
            voicehive_pms_response_seconds_bucket{operation="lookup",le="0.1"} 0
            voicehive_pms_response_seconds_bucket{operation="lookup",le="0.5"} 3
            voicehive_pms_response_seconds_bucket{operation="lookup",le="1"} 3
            voicehive_pms_response_seconds_bucket{operation="lookup",le="+Inf"} 4
            voicehive_pms_response_seconds_sum{operation="lookup"} 3.25
            voicehive_pms_response_seconds_count{operation="lookup"} 4

            """;

        Assert.Equal(expected, Scrape(ExpositionFormat.PrometheusText));
    }

    [Fact]
    public void OpenMetricsFormatIsExact()
    {
        const string expected = """
            # HELP voicehive_call_success Calls the system handled.
            # TYPE voicehive_call_success counter
            voicehive_call_success_total{hotel_id="grand-plaza",outcome="resolved"} 7
            # HELP test_energy_joules Energy used.
            # TYPE test_energy_joules counter
            # UNIT test_energy_joules joules
            test_energy_joules_total 1.5
            # HELP voicehive_calls_active Calls in progress.
            # TYPE voicehive_calls_active gauge
            voicehive_calls_active 3
            # HELP test_temperature_celsius Line one\nline two with a back\\slash.
            # TYPE test_temperature_celsius gauge
            # UNIT test_temperature_celsius celsius
            test_temperature_celsius{room="a\"b\\c\nd"} -2.5
            # HELP test_queue_depth test.queue.depth
            # TYPE test_queue_depth gauge
            test_queue_depth 42
            # HELP voicehive_pms_response_seconds PMS response time.
            # TYPE voicehive_pms_response_seconds histogram
            # UNIT voicehive_pms_response_seconds seconds
            voicehive_pms_response_seconds_bucket{operation="lookup",le="0.1"} 0
            voicehive_pms_response_seconds_bucket{operation="lookup",le="0.5"} 3
            voicehive_pms_response_seconds_bucket{operation="lookup",le="1"} 3
            voicehive_pms_response_seconds_bucket{operation="lookup",le="+Inf"} 4
            voicehive_pms_response_seconds_sum{operation="lookup"} 3.25
            voicehive_pms_response_seconds_count{operation="lookup"} 4
            # EOF

            """;

        Assert.Equal(expected, Scrape(ExpositionFormat.OpenMetrics));
    }

    [Fact]
    public void CountersAreCumulativeAcrossScrapes()
    {
        Scrape(ExpositionFormat.PrometheusText);
        _meter.CreateCounter<long>("late.counter").Add(2);

        var first = Scrape(ExpositionFormat.PrometheusText);
        var second = Scrape(ExpositionFormat.PrometheusText);

        Assert.Contains("late_counter_total 2\n", first, StringComparison.Ordinal);
        Assert.Contains("late_counter_total 2\n", second, StringComparison.Ordinal);
        Assert.Contains("voicehive_call_success_total{hotel_id=\"grand-plaza\",outcome=\"resolved\"} 7\n", second, StringComparison.Ordinal);
    }

    [Fact]
    public void MeterFilterSelectsWhatAnEndpointShows()
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.True(_scraper.TryScrape(output, _ => false, ExpositionFormat.OpenMetrics));

        Assert.Equal("# EOF\n", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void ConflictingTypesUnderOneNameKeepTheFirstAndDropTheOther()
    {
        _meter.CreateCounter<long>("clash").Add(1);
        _meter.CreateGauge<long>("clash").Record(5);

        var text = Scrape(ExpositionFormat.PrometheusText);

        Assert.Contains("# TYPE clash_total counter\nclash_total 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("gauge\nclash", text, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelNamesAreUniqueWithinASample()
    {
        _meter.CreateCounter<long>("merged").Add(1, new("http.method", "GET"), new("http_method", "get"));
        _meter.CreateHistogram("with.le", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1] })
            .Record(0.5, new KeyValuePair<string, object?>("le", "user"));

        var text = Scrape(ExpositionFormat.PrometheusText);

        Assert.Contains("merged_total{http_method=\"GET;get\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("with_le_bucket{le=\"1\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("with_le_bucket{le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AHistogramWithoutBoundariesStillHasItsInfinityBucket()
    {
        _meter.CreateHistogram("no.buckets", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [] }).Record(3);

        var text = Scrape(ExpositionFormat.PrometheusText);

        Assert.Contains("no_buckets_bucket{le=\"+Inf\"} 1\nno_buckets_sum 3\nno_buckets_count 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NumbersAreWrittenExactlyAndInGoSpelling()
    {
        _meter.CreateCounter<long>("big").Add(9007199254740993);
        _meter.CreateGauge<double>("tiny").Record(1e-5);
        _meter.CreateCounter<long>("tagged").Add(1, new KeyValuePair<string, object?>("codes", new[] { "a", "b" }));

        var text = Scrape(ExpositionFormat.PrometheusText);

        Assert.Contains("big_total 9007199254740993\n", text, StringComparison.Ordinal);
        Assert.Contains("tiny 1e-05\n", text, StringComparison.Ordinal);
        Assert.Contains("tagged_total{codes=\"a,b\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpTextEscapesQuotesInOpenMetricsOnly()
    {
        _meter.CreateCounter<long>("quoted", description: "Say \"hi\"").Add(1);

        Assert.Contains("# HELP quoted_total Say \"hi\"\n", Scrape(ExpositionFormat.PrometheusText), StringComparison.Ordinal);
        Assert.Contains("# HELP quoted Say \\\"hi\\\"\n", Scrape(ExpositionFormat.OpenMetrics), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _provider.Dispose();
        _scraper.Dispose();
        _meter.Dispose();
    }

    private string Scrape(ExpositionFormat format)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(_scraper.TryScrape(output, _ => true, format));
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
