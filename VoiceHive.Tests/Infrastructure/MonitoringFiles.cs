using VoiceHive.AppHost.Monitoring;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// The repository's monitoring configuration for a test environment, derived by the AppHost's own
/// <see cref="MonitoringConfiguration"/> (linked into this project): addresses, secrets and, for end-to-end tests,
/// test-speed intervals. Nothing else changes.
/// </summary>
public static class MonitoringFiles
{
    /// <summary>The password of the web configs' users in tests; <see cref="WebPasswordBcrypt"/> is its bcrypt hash (a test fixture, not a secret).</summary>
    public const string WebPassword = "test-password";

    public const string WebPasswordBcrypt = "$2b$10$04xKVcJ.z15jVNsS.mPES.ZrpP8tsxU7EQhfH7jQRFPDn/V3wlK82";

    public static string Monitoring => Repository.Path("monitoring");

    public static string PrometheusDirectory => Repository.Path("monitoring", "prometheus");

    /// <summary>prometheus.yml reading its secrets from <paramref name="directory"/> (<see cref="PrometheusSecretsAsync"/>), as a run without containers derives it.</summary>
    public static string PrometheusConfig(string directory) => MonitoringConfiguration.PrometheusYaml(Monitoring, directory, fast: false);

    /// <summary><see cref="PrometheusConfig"/> with 1 s scrape and evaluation intervals.</summary>
    public static string PrometheusConfigAtTestSpeed(string directory) => MonitoringConfiguration.PrometheusYaml(Monitoring, directory, fast: true);

    /// <summary>A fresh directory with the secrets Prometheus reads (secrets/scrape_token, secrets/alertmanager_password).</summary>
    public static Task<string> PrometheusSecretsAsync(string scrapeToken)
    {
        var directory = TestDirectories.Create("prom-config");
        MonitoringConfiguration.WritePrometheus(Monitoring, directory, new PrometheusSettings(scrapeToken, WebPassword));
        return Task.FromResult(directory);
    }

    /// <summary>The rule files with 20 s rate windows and 5 s "for", keyed by their path relative to prometheus.yml.</summary>
    public static Dictionary<string, string> RulesAtTestSpeed() =>
        Directory.GetFiles(Path.Combine(PrometheusDirectory, "rules"), "*.yml").ToDictionary(
            file => "rules/" + Path.GetFileName(file),
            file => MonitoringConfiguration.FastRules(File.ReadAllText(file)));

    /// <summary>
    /// alertmanager.yml for a test, derived into a directory of its own with its secrets and templates: the webhook at
    /// <paramref name="orchestrator"/> (an unreachable address when not given), PagerDuty's Events API at
    /// <paramref name="pagerDuty"/> when given, and optionally 1 s grouping.
    /// </summary>
    public static string AlertmanagerConfig(string slackWebhookUrl, string pagerDutyRoutingKey, string webhookToken,
        Uri? orchestrator = null, Uri? pagerDuty = null, bool fastGrouping = false)
    {
        var directory = TestDirectories.Create("am-config");
        MonitoringConfiguration.WriteAlertmanager(Monitoring, directory, new AlertmanagerSettings(
            new Uri(orchestrator ?? new Uri("http://127.0.0.1:9"), "/monitoring/alerts/webhook"), webhookToken, slackWebhookUrl, pagerDutyRoutingKey)
        {
            PagerDutyUrl = pagerDuty is null ? null : new Uri(pagerDuty, "/v2/enqueue"),
            Fast = fastGrouping,
        });
        return File.ReadAllText(Path.Combine(directory, "alertmanager.yml"));
    }

    /// <summary>A web config template (<c>monitoring/prometheus/web.yml</c> or <c>monitoring/alertmanager/web.yml</c>) rendered as a deployment would, with <see cref="WebPasswordBcrypt"/>.</summary>
    public static string WebConfig(string component) =>
        MonitoringConfiguration.RenderWebConfig(File.ReadAllText(Repository.Path("monitoring", component, "web.yml")), WebPasswordBcrypt);
}
