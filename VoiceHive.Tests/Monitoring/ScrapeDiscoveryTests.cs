using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VoiceHive.ServiceDefaults.Telemetry;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// Every replica announces its scrape address; the orchestrator lists them for Prometheus's HTTP service
/// discovery, so Prometheus scrapes each replica on its own wherever they run.
/// </summary>
public sealed class ScrapeDiscoveryTests(SharedServers servers)
{
    [Fact]
    public async Task PrometheusFindsEveryReplicaThroughTheOrchestrator()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        var settings = new Dictionary<string, string?> { ["Monitoring:AdvertisedHost"] = "127.0.0.1" };
        await using var first = OrchestratorApplication.For(database, redis.ConnectionString,
            new Dictionary<string, string?>(settings) { ["OTEL_SERVICE_NAME"] = "orchestrator" });
        await using var second = OrchestratorApplication.For(database, redis.ConnectionString,
            new Dictionary<string, string?>(settings) { ["OTEL_SERVICE_NAME"] = "orchestrator" });
        await using var worker = WorkerApplication.For(database, redis.ConnectionString,
            new Dictionary<string, string?>(settings) { ["OTEL_SERVICE_NAME"] = "worker" });
        foreach (var app in (IServiceApplication[])[first, second, worker])
        {
            app.UseRealPort();
        }

        var expected = new[] { first.Address.Authority, second.Address.Authority, worker.Address.Authority };
        using var client = new HttpClient { BaseAddress = first.Address };
        var groups = await Eventually.Until(
            () => client.GetFromJsonAsync<JsonElement>("/monitoring/scrape-targets", cancellationToken),
            body => body.EnumerateArray().SelectMany(g => g.GetProperty("targets").EnumerateArray()).Count() == 3,
            "every replica to announce itself", cancellationToken: cancellationToken);
        await using var prometheus = await PrometheusServer.StartAsync($$"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: voicehive-replicas
                metrics_path: /metrics
                http_sd_configs:
                  - url: {{new Uri(first.Address, "/monitoring/scrape-targets")}}
                    refresh_interval: 1s
            """);

        var up = await Eventually.Until(
            () => prometheus.QueryAsync("""up{job="voicehive-replicas"} == 1""", cancellationToken),
            samples => samples.Count == 3, "Prometheus to scrape all three replicas", cancellationToken: cancellationToken);

        Assert.Equal(expected.Order(), up.Select(s => s.Labels["instance"]).Order());
        Assert.Equal(["orchestrator", "orchestrator", "worker"], up.Select(s => s.Labels["voicehive_service"]).Order());
        Assert.Equal(2, groups.EnumerateArray().Single(g => g.GetProperty("labels").GetProperty("voicehive_service").GetString() == "orchestrator")
            .GetProperty("targets").GetArrayLength());
    }

    [Fact]
    public async Task WithoutAnAdvertisedHostNothingIsAnnounced()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var silent = OrchestratorApplication.For(database, redis.ConnectionString,
            new Dictionary<string, string?> { ["OTEL_SERVICE_NAME"] = "orchestrator" });
        await using var announced = OrchestratorApplication.For(database, redis.ConnectionString,
            new Dictionary<string, string?> { ["OTEL_SERVICE_NAME"] = "orchestrator", ["Monitoring:AdvertisedHost"] = "127.0.0.1" });
        silent.UseRealPort();
        announced.UseRealPort();
        using var client = new HttpClient { BaseAddress = silent.Address };

        // A pass of each replica's announcer, now that both listen: the one with a host is the proof that a pass announces.
        var silentCount = await Announcer(silent).AnnounceAsync();
        var announcedCount = await Announcer(announced).AnnounceAsync();
        var body = await client.GetFromJsonAsync<JsonElement>("/monitoring/scrape-targets", cancellationToken);

        Assert.Equal(0, silentCount);
        Assert.Equal(1, announcedCount);
        Assert.Equal([announced.Address.Authority], body.EnumerateArray().SelectMany(g => g.GetProperty("targets").EnumerateArray()).Select(t => t.GetString()));
    }

    private static ScrapeTargetAnnouncer Announcer(IServiceApplication app) =>
        app.Services.GetServices<IHostedService>().OfType<ScrapeTargetAnnouncer>().Single();
}
