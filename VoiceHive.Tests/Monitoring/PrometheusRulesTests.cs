using VoiceHive.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace VoiceHive.Tests.Monitoring;

/// <summary>The Prometheus configuration and rules, checked by promtool and held to their contract.</summary>
public sealed class PrometheusRulesTests
{
    private static readonly string PrometheusDirectory = Repository.Path("monitoring", "prometheus");

    [Fact]
    public async Task TheConfigurationAndEveryRuleFilePassPromtoolCheck()
    {
        // The configuration as a run derives it: its secrets, rules and targets in a directory of the test's.
        var derived = await MonitoringFiles.PrometheusSecretsAsync("a-scrape-token");
        var config = await Promtool.RunAsync(["check", "config", Path.Combine(derived, "prometheus.yml")]);
        var rules = await Promtool.RunAsync(["check", "rules", .. MonitoringQueries.RuleFiles()]);

        Assert.True(config.ExitCode == 0, config.Output);
        Assert.True(rules.ExitCode == 0, rules.Output);
    }

    [Fact]
    public async Task EveryRuleUnitTestPasses()
    {
        var tests = Directory.GetFiles(Path.Combine(PrometheusDirectory, "tests"), "*.yml");

        var result = await Promtool.RunAsync(["test", "rules", .. tests]);

        Assert.NotEmpty(tests);
        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Fact]
    public void TheGuidesFourAlertsKeepTheirNames()
    {
        var names = MonitoringQueries.Alerts().Select(a => a.Name).ToHashSet();

        Assert.Superset(names.ToHashSet(), new HashSet<string>
        {
            "CallSuccessRateLow", "PMSResponseTimeSlow", "HighErrorRate", "HighMemoryUsage",
            "ServiceDown", "HttpLatencyHigh", "PostgresDown", "RedisDown", "WorkerConsumerLagHigh", "EventsDeadLettered",
            "CallSuccessBudgetBurnFast", "CallSuccessBudgetBurnSlow", "AvailabilityBudgetBurnFast", "AvailabilityBudgetBurnSlow",
        });
    }

    [Fact]
    public void EveryAlertHasSeverityServiceSummaryValueAndARunbookThatExists()
    {
        foreach (var alert in MonitoringQueries.Alerts())
        {
            Assert.Contains(alert.Labels.GetValueOrDefault("severity"), (string[])["critical", "warning"]);
            Assert.False(string.IsNullOrWhiteSpace(alert.Labels.GetValueOrDefault("service")), $"{alert.Name} has no service");
            Assert.False(string.IsNullOrWhiteSpace(alert.Annotations.GetValueOrDefault("summary")), $"{alert.Name} has no summary");
            Assert.Contains("$value", alert.Annotations.GetValueOrDefault("description") ?? "", StringComparison.Ordinal);
            Assert.Equal($"docs/runbooks/{alert.Name}.md", alert.Annotations.GetValueOrDefault("runbook_url"));
            var runbook = File.ReadAllText(Repository.Path("docs", "runbooks", alert.Name + ".md"));
            Assert.Contains("## What it means", runbook, StringComparison.Ordinal);
            Assert.Contains("## What to check first", runbook, StringComparison.Ordinal);
            Assert.Contains("## How to mitigate", runbook, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EveryAlertHasACaseWhereItFiresAndOneWhereItStaysSilent()
    {
        var firing = new HashSet<string>();
        var silent = new HashSet<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(PrometheusDirectory, "tests"), "*.yml"))
        {
            foreach (var test in MonitoringQueries.Sequence(MonitoringQueries.Load(file), "tests"))
            {
                foreach (var check in MonitoringQueries.Sequence(test, "alert_rule_test"))
                {
                    var name = MonitoringQueries.Scalar(check, "alertname");
                    (MonitoringQueries.Sequence(check, "exp_alerts").Any() ? firing : silent).Add(name);
                }
            }
        }

        foreach (var alert in MonitoringQueries.Alerts())
        {
            Assert.True(firing.Contains(alert.Name), $"{alert.Name} has no case where it fires");
            Assert.True(silent.Contains(alert.Name), $"{alert.Name} has no case where it stays silent");
        }
    }
}
