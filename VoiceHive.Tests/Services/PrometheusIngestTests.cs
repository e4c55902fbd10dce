using System.Globalization;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

/// <summary>A real Prometheus scrapes a running service (OpenMetrics, as Prometheus asks for it) and answers queries on its series.</summary>
public sealed class PrometheusIngestTests(SharedServers servers)
{
    [Fact]
    public async Task PrometheusScrapesBothEndpointsAndAnswersQueries()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        app.UseRealPort();
        var target = app.Address;
        using (var client = new HttpClient { BaseAddress = target })
        {
            await client.GetAsync("/health", cancellationToken);
            await client.GetAsync("/alive", cancellationToken);
            await client.GetAsync("/monitoring/scrape-targets", cancellationToken);
            await client.GetAsync($"/api/calls/{Guid.NewGuid()}", cancellationToken);
        }

        var hostPort = $"127.0.0.1:{target.Port.ToString(CultureInfo.InvariantCulture)}";
        await using var prometheus = await PrometheusServer.StartAsync($$"""
            global:
              scrape_interval: 2s
              scrape_timeout: 2s
            scrape_configs:
              - job_name: voicehive-orchestrator
                metrics_path: /metrics
                static_configs: [{ targets: ["{{hostPort}}"] }]
              - job_name: voicehive-business-metrics
                metrics_path: /monitoring/metrics
                static_configs: [{ targets: ["{{hostPort}}"] }]
            """);

        var up = await Eventually.Until(
            () => prometheus.QueryAsync("up == 1", cancellationToken),
            samples => samples.Count == 2,
            "both scrape targets to be up", cancellationToken: cancellationToken);
        var memory = await Eventually.Until(
            () => prometheus.QueryAsync("voicehive_memory_usage_bytes / (1024*1024*1024)", cancellationToken),
            samples => samples.Count == 1,
            "the memory gauge to be ingested", cancellationToken: cancellationToken);
        var requests = await Eventually.Until(
            () => prometheus.QueryAsync("""sum by (http_route) (http_server_request_duration_seconds_count{job="voicehive-orchestrator"})""", cancellationToken),
            samples => samples.Any(s => s.Labels.GetValueOrDefault("http_route") == "/api/calls/{id:guid}"),
            "request durations to be ingested", cancellationToken: cancellationToken);

        Assert.Equal(2, up.Count);
        Assert.Equal("voicehive-business-metrics", memory[0].Labels["job"]);
        Assert.InRange(memory[0].Value, 0.001, 64);
        // Requests are measured; probes and Prometheus's own scrapes are not.
        Assert.Contains(requests, s => s.Labels["http_route"] == "/api/calls/{id:guid}" && s.Value >= 1);
        Assert.DoesNotContain(requests, s => s.Labels["http_route"] is "/metrics" or "/monitoring/metrics" or "/health" or "/alive" or "/monitoring/scrape-targets");
    }
}
