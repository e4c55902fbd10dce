using System.Globalization;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Stack;

/// <summary>
/// The whole system on this machine: orchestrator and worker listening on loopback ports, the Redis and
/// PostgreSQL exporters, Alertmanager and Prometheus from the repository's files (Prometheus at test speed),
/// against the test run's PostgreSQL and Redis. Alertmanager's Slack and PagerDuty go to the given fakes.
/// </summary>
public sealed class LocalProcessStack : IVoiceHiveStack
{
    private readonly List<IAsyncDisposable> _parts = [];

    private LocalProcessStack(string database, string redis)
    {
        DatabaseConnectionString = database;
        RedisConnectionString = redis;
    }

    public Uri Orchestrator { get; private set; } = null!;

    public Uri Worker { get; private set; } = null!;

    public Uri Prometheus { get; private set; } = null!;

    public Uri Alertmanager { get; private set; } = null!;

    public string DatabaseConnectionString { get; }

    public string RedisConnectionString { get; }

    public string WebhookToken => "stack-webhook-token";

    public string ScrapeToken => "stack-scrape-token";

    public string CallsToken { get; } = TestTokens.Create("calls", subject: "stack-gateway");

    public string OperationsToken { get; } = TestTokens.Create("operations", subject: "stack-operator");

    public IReadOnlyCollection<string> ScrapeJobs { get; } =
        ["voicehive-orchestrator", "voicehive-business-metrics", "voicehive-worker", "voicehive-worker-business-metrics", "redis", "postgres"];

    internal PrometheusServer PrometheusServer { get; private set; } = null!;

    internal AlertmanagerServer AlertmanagerServer { get; private set; } = null!;

    /// <summary>Starts everything; <paramref name="slack"/> and <paramref name="pagerDuty"/> receive Alertmanager's notifications; <paramref name="alertingAtTestSpeed"/> shortens the rules' windows.</summary>
    public static async Task<LocalProcessStack> StartAsync(SharedServers servers, Uri slack, Uri pagerDuty, bool alertingAtTestSpeed = false,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var stack = new LocalProcessStack(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        try
        {
            await stack.StartPartsAsync(servers, slack, pagerDuty, alertingAtTestSpeed, settings);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    private async Task StartPartsAsync(SharedServers servers, Uri slack, Uri pagerDuty, bool alertingAtTestSpeed, IReadOnlyDictionary<string, string?>? extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ALERT_WEBHOOK_TOKEN"] = WebhookToken,
            ["Monitoring:ScrapeToken"] = ScrapeToken,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var orchestrator = OrchestratorApplication.For(DatabaseConnectionString, RedisConnectionString, settings);
        _parts.Add(orchestrator);
        orchestrator.UseRealPort();
        Orchestrator = orchestrator.Address;
        var worker = WorkerApplication.For(DatabaseConnectionString, RedisConnectionString, settings);
        _parts.Add(worker);
        worker.UseRealPort();
        Worker = worker.Address;

        var redisExporter = await ExporterProcess.RedisAsync(servers.Redis);
        _parts.Add(redisExporter);
        var postgresExporter = await ExporterProcess.PostgresAsync(servers.Postgres);
        _parts.Add(postgresExporter);

        var secrets = await MonitoringFiles.AlertmanagerSecretsAsync(new Uri(slack, "/services/T000/B000/XXXX").ToString(), "R0UT1NGKEY", WebhookToken);
        AlertmanagerServer = await AlertmanagerServer.StartAsync(
            MonitoringFiles.AlertmanagerConfig(secrets, Orchestrator, pagerDuty, fastGrouping: alertingAtTestSpeed));
        _parts.Add(AlertmanagerServer);
        Alertmanager = AlertmanagerServer.Http.BaseAddress!;

        var files = alertingAtTestSpeed
            ? MonitoringFiles.RulesAtTestSpeed()
            : Directory.GetFiles(Path.Combine(MonitoringFiles.PrometheusDirectory, "rules"), "*.yml")
                .ToDictionary(file => "rules/" + Path.GetFileName(file), File.ReadAllText);
        files["targets/orchestrator.json"] = Target(Orchestrator.Authority);
        files["targets/worker.json"] = Target(Worker.Authority);
        files["targets/alertmanager.json"] = Target("127.0.0.1:" + AlertmanagerServer.Port.ToString(CultureInfo.InvariantCulture));
        files["targets/redis-exporter.json"] = Target(redisExporter.Target);
        files["targets/postgres-exporter.json"] = Target(postgresExporter.Target);
        PrometheusServer = await PrometheusServer.StartAsync(MonitoringFiles.PrometheusConfigAtTestSpeed(await MonitoringFiles.PrometheusSecretsAsync(ScrapeToken)), files);
        _parts.Add(PrometheusServer);
        Prometheus = PrometheusServer.BaseAddress;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _parts.Count - 1; i >= 0; i--)
        {
            await _parts[i].DisposeAsync();
        }

        _parts.Clear();
    }

    private static string Target(string address) => $$"""[{"targets": ["{{address}}"]}]""";
}
