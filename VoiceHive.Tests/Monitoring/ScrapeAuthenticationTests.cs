using System.Net;
using System.Text.Json;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// With <c>Monitoring:ScrapeToken</c> set, the scrape endpoints ask for it, and a real Prometheus loaded with the
/// repository's prometheus.yml (its credentials file in a test secrets directory) scrapes every service job.
/// </summary>
public sealed class ScrapeAuthenticationTests(SharedServers servers)
{
    private const string ScrapeToken = "test-scrape-token";

    [Fact]
    public async Task PrometheusWithTheCredentialsFileScrapesWhatRefusesEveryoneElse()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var database = await servers.Postgres.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["Monitoring:ScrapeToken"] = ScrapeToken, ["Monitoring:AdvertisedHost"] = "127.0.0.1" };
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString, settings);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, settings);
        orchestrator.UseRealPort();
        worker.UseRealPort();
        var refusals = new List<(string Request, HttpStatusCode Status, bool Challenged)>();
        foreach (var (app, path) in (IEnumerable<(IServiceApplication, string)>)
            [(orchestrator, "/metrics"), (orchestrator, "/monitoring/metrics"), (orchestrator, "/monitoring/scrape-targets"), (worker, "/metrics"), (worker, "/monitoring/metrics")])
        {
            foreach (var token in (string?[])[null, "not-the-scrape-token", TestTokens.Create(TestTokens.AllScopes)])
            {
                using var client = new HttpClient { BaseAddress = app.Address }.WithToken(token);
                using var response = await client.GetAsync(path, cancellationToken);
                refusals.Add(($"{app.Address.Port}{path} with {token?[..8] ?? "nothing"}", response.StatusCode, response.Headers.WwwAuthenticate.Any(c => c.Scheme == "Bearer")));
            }
        }

        await using var prometheus = await PrometheusServer.StartAsync(
            MonitoringFiles.PrometheusConfigAtTestSpeed(await MonitoringFiles.PrometheusSecretsAsync(ScrapeToken)),
            new Dictionary<string, string>
            {
                ["targets/orchestrator.json"] = Targets(orchestrator.Address),
                ["targets/worker.json"] = Targets(worker.Address),
            });
        var up = await Eventually.Until(() => prometheus.QueryAsync("""up{job=~"voicehive-.*"} == 1""", cancellationToken), samples => samples.Count == 4,
            "Prometheus to scrape the four service jobs", cancellationToken: cancellationToken);
        using var withToken = new HttpClient { BaseAddress = orchestrator.Address }.WithToken(ScrapeToken);
        var targets = JsonDocument.Parse(await withToken.GetStringAsync("/monitoring/scrape-targets", cancellationToken)).RootElement;

        Assert.All(refusals, r => Assert.True(r.Status == HttpStatusCode.Unauthorized && r.Challenged, $"{r.Request}: {(int)r.Status}"));
        Assert.Equal(["voicehive-business-metrics", "voicehive-orchestrator", "voicehive-worker", "voicehive-worker-business-metrics"],
            up.Select(s => s.Labels["job"]).Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.Array, targets.ValueKind);
    }

    private static string Targets(Uri address) => JsonSerializer.Serialize(new[] { new { targets = new[] { address.Authority } } });
}
