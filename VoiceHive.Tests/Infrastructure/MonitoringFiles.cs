using VoiceHive.AppHost.Monitoring;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// The repository's monitoring configuration for a test environment, derived by the AppHost's own
/// <see cref="MonitoringConfiguration"/> (linked into this project): addresses, secrets and, for end-to-end tests,
/// test-speed intervals. Nothing else changes.
/// </summary>
public static class MonitoringFiles
{
    public static string PrometheusDirectory => Repository.Path("monitoring", "prometheus");

    /// <summary>prometheus.yml with 1 s scrape and evaluation intervals.</summary>
    public static string PrometheusConfigAtTestSpeed() =>
        MonitoringConfiguration.FastScrapes(File.ReadAllText(Path.Combine(PrometheusDirectory, "prometheus.yml")));

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
        MonitoringConfiguration.WriteAlertmanager(Repository.Path("monitoring"), directory, new AlertmanagerSettings(
            new Uri(orchestrator ?? new Uri("http://127.0.0.1:9"), "/monitoring/alerts/webhook"), webhookToken, slackWebhookUrl, pagerDutyRoutingKey)
        {
            PagerDutyUrl = pagerDuty is null ? null : new Uri(pagerDuty, "/v2/enqueue"),
            Fast = fastGrouping,
        });
        return File.ReadAllText(Path.Combine(directory, "alertmanager.yml"));
    }
}
