namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// The repository's monitoring configuration, adapted to a test environment the way a run mode adapts it:
/// addresses, the secrets directory, and (for end-to-end tests) test-speed intervals. Nothing else changes.
/// </summary>
public static class MonitoringFiles
{
    public static string PrometheusDirectory => Repository.Path("monitoring", "prometheus");

    /// <summary>The password of the web configs' users in tests; <see cref="WebPasswordBcrypt"/> is its bcrypt hash (a test fixture, not a secret).</summary>
    public const string WebPassword = "test-password";

    public const string WebPasswordBcrypt = "$2b$10$04xKVcJ.z15jVNsS.mPES.ZrpP8tsxU7EQhfH7jQRFPDn/V3wlK82";

    /// <summary>prometheus.yml with its secrets read from <paramref name="secrets"/> (<see cref="PrometheusSecretsAsync"/>), as a run mode without containers adapts it.</summary>
    public static string PrometheusConfig(string secrets) =>
        File.ReadAllText(Path.Combine(PrometheusDirectory, "prometheus.yml")).Replace("/etc/prometheus/secrets/", secrets + "/", StringComparison.Ordinal);

    /// <summary><see cref="PrometheusConfig"/> with 1 s scrape and evaluation intervals.</summary>
    public static string PrometheusConfigAtTestSpeed(string secrets) =>
        PrometheusConfig(secrets)
            .Replace("scrape_interval: 15s", "scrape_interval: 1s", StringComparison.Ordinal)
            .Replace("scrape_interval: 30s", "scrape_interval: 1s", StringComparison.Ordinal)
            .Replace("evaluation_interval: 15s", "evaluation_interval: 1s", StringComparison.Ordinal)
            .Replace("scrape_timeout: 10s", "scrape_timeout: 1s", StringComparison.Ordinal);

    /// <summary>The rule files with 20 s rate windows and 5 s "for", so that alerts fire within a test (their logic is covered by promtool's tests).</summary>
    public static Dictionary<string, string> RulesAtTestSpeed() =>
        Directory.GetFiles(Path.Combine(PrometheusDirectory, "rules"), "*.yml").ToDictionary(
            file => "rules/" + Path.GetFileName(file),
            file => File.ReadAllText(file)
                .Replace("[5m]", "[20s]", StringComparison.Ordinal)
                .Replace("for: 2m", "for: 5s", StringComparison.Ordinal)
                .Replace("for: 3m", "for: 5s", StringComparison.Ordinal));

    /// <summary>
    /// alertmanager.yml for a test: secrets from <paramref name="secrets"/>, the webhook at <paramref name="orchestrator"/>,
    /// PagerDuty's Events API at <paramref name="pagerDuty"/> when given, templates from the repository, and
    /// optionally 1 s grouping.
    /// </summary>
    public static string AlertmanagerConfig(string secrets, Uri? orchestrator = null, Uri? pagerDuty = null, bool fastGrouping = false)
    {
        var config = File.ReadAllText(Repository.Path("monitoring", "alertmanager", "alertmanager.yml"))
            .Replace("/etc/alertmanager/secrets/", secrets + "/", StringComparison.Ordinal)
            .Replace("  - templates/*.tmpl", "  - " + Repository.Path("monitoring", "alertmanager", "templates", "*.tmpl"), StringComparison.Ordinal);
        if (orchestrator is not null)
        {
            config = config.Replace("http://orchestrator:8000/monitoring/alerts/webhook", new Uri(orchestrator, "/monitoring/alerts/webhook").ToString(),
                StringComparison.Ordinal);
        }

        if (pagerDuty is not null)
        {
            config = config.Replace($"      - routing_key_file: {secrets}/pagerduty_routing_key",
                $"      - routing_key_file: {secrets}/pagerduty_routing_key\n        url: {new Uri(pagerDuty, "/v2/enqueue")}", StringComparison.Ordinal);
        }

        return fastGrouping
            ? config.Replace("group_wait: 10s", "group_wait: 1s", StringComparison.Ordinal).Replace("group_interval: 10s", "group_interval: 1s", StringComparison.Ordinal)
            : config;
    }

    /// <summary>A fresh secrets directory with the files Prometheus reads: the services' scrape token, Alertmanager's password.</summary>
    public static async Task<string> PrometheusSecretsAsync(string scrapeToken)
    {
        var secrets = TestDirectories.Create("prom-secrets");
        await File.WriteAllTextAsync(Path.Combine(secrets, "scrape_token"), scrapeToken);
        await File.WriteAllTextAsync(Path.Combine(secrets, "alertmanager_password"), WebPassword);
        return secrets;
    }

    /// <summary>A web config template (<c>monitoring/prometheus/web.yml</c> or <c>monitoring/alertmanager/web.yml</c>) rendered as a deployment would, with <see cref="WebPasswordBcrypt"/>.</summary>
    public static string WebConfig(string component) =>
        System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Repository.Path("monitoring", component, "web.yml")), "__[A-Z_]+_BCRYPT__", WebPasswordBcrypt);

    /// <summary>A fresh secrets directory with the three files Alertmanager reads.</summary>
    public static async Task<string> AlertmanagerSecretsAsync(string slackWebhookUrl, string pagerDutyRoutingKey, string webhookToken)
    {
        var secrets = TestDirectories.Create("am-secrets");
        await File.WriteAllTextAsync(Path.Combine(secrets, "slack_webhook_url"), slackWebhookUrl);
        await File.WriteAllTextAsync(Path.Combine(secrets, "pagerduty_routing_key"), pagerDutyRoutingKey);
        await File.WriteAllTextAsync(Path.Combine(secrets, "alert_webhook_token"), webhookToken);
        return secrets;
    }
}
