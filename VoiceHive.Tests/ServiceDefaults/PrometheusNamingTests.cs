using VoiceHive.ServiceDefaults.Prometheus;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class PrometheusNamingTests
{
    [Theory]
    [InlineData("voicehive.call.success", null, "Counter", "voicehive_call_success")]
    [InlineData("voicehive.pms.response", "s", "Histogram", "voicehive_pms_response_seconds")]
    [InlineData("voicehive.memory.usage", "By", "Gauge", "voicehive_memory_usage_bytes")]
    [InlineData("http.server.request.duration", "s", "Histogram", "http_server_request_duration_seconds")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", "Counter", "dotnet_gc_heap_total_allocated_bytes")]
    [InlineData("kestrel.active_connections", "{connection}", "Gauge", "kestrel_active_connections")]
    [InlineData("requests.total", "{request}", "Counter", "requests")]
    [InlineData("queue.latency", "ms", "Histogram", "queue_latency_milliseconds")]
    [InlineData("cache.hit_ratio", "1", "Gauge", "cache_hit_ratio")]
    [InlineData("cache.hits", "1", "Counter", "cache_hits")]
    [InlineData("cpu.utilization", "1", "Gauge", "cpu_utilization_ratio")]
    [InlineData("throughput", "By/s", "Gauge", "throughput_bytes_per_second")]
    [InlineData("rate", "{event}/s", "Gauge", "rate_per_second")]
    [InlineData("rate", "{event}/m", "Gauge", "rate_per_minute")]
    [InlineData("weird-name..with spaces", "s", "Gauge", "weird_name_with_spaces_seconds")]
    [InlineData("9lives", null, "Gauge", "_9lives")]
    [InlineData("size_bytes", "By", "Gauge", "size_bytes")]
    [InlineData("dotnet.assembly.count", "{assembly}", "Gauge", "dotnet_assembly_count_current")]
    [InlineData("db.client.connection.count", "{connection}", "Gauge", "db_client_connection_count_current")]
    [InlineData("queue.bucket", null, "Gauge", "queue_bucket_current")]
    [InlineData("dotnet.gc.collections.count", null, "Counter", "dotnet_gc_collections_count")]
    [InlineData("request.size.sum", "By", "Gauge", "request_size_sum_bytes")]
    public void FamilyNamesFollowTheOpenTelemetryPrometheusExporter(string instrument, string? unit, string type, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.FamilyName(instrument, unit, Enum.Parse<PrometheusType>(type)));
    }

    [Theory]
    [InlineData("hotel_id", "hotel_id")]
    [InlineData("error.type", "error_type")]
    [InlineData("http.response.status_code", "http_response_status_code")]
    [InlineData("a:b", "a_b")]
    [InlineData("1st", "_1st")]
    [InlineData("ünïcode", "_n_code")]
    public void LabelNamesAreSanitised(string key, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.SanitizeLabelName(key));
    }
}
