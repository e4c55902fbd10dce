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
        // The configuration as a run mode adapts it: its secrets in a directory of the test's, its rules where they are.
        var copy = Path.Combine(TestDirectories.Create("prom-config"), "prometheus.yml");
        await File.WriteAllTextAsync(copy, MonitoringFiles.PrometheusConfig(await MonitoringFiles.PrometheusSecretsAsync("a-scrape-token"))
            .Replace("  - rules/*.yml", "  - " + Path.Combine(PrometheusDirectory, "rules", "*.yml"), StringComparison.Ordinal), TestContext.Current.CancellationToken);
        var config = await Promtool.RunAsync(["check", "config", copy]);
        var rules = await Promtool.RunAsync(["check", "rules", .. RuleFiles()]);

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
        var names = Alerts().Select(a => a.Name).ToHashSet();

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
        foreach (var alert in Alerts())
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
            foreach (var test in Sequence(Load(file), "tests"))
            {
                foreach (var check in Sequence(test, "alert_rule_test"))
                {
                    var name = Scalar(check, "alertname");
                    (Sequence(check, "exp_alerts").Any() ? firing : silent).Add(name);
                }
            }
        }

        foreach (var alert in Alerts())
        {
            Assert.True(firing.Contains(alert.Name), $"{alert.Name} has no case where it fires");
            Assert.True(silent.Contains(alert.Name), $"{alert.Name} has no case where it stays silent");
        }
    }

    internal static string[] RuleFiles() => Directory.GetFiles(Path.Combine(PrometheusDirectory, "rules"), "*.yml");

    internal static IEnumerable<(string Name, string Expression, Dictionary<string, string> Labels, Dictionary<string, string> Annotations)> Alerts() =>
        from file in RuleFiles()
        from ruleGroup in Sequence(Load(file), "groups")
        from rule in Sequence(ruleGroup, "rules")
        let mapping = (YamlMappingNode)rule
        where mapping.Children.ContainsKey("alert")
        select (Scalar(rule, "alert"), Scalar(rule, "expr"), Map(rule, "labels"), Map(rule, "annotations"));

    internal static IEnumerable<string> Expressions() =>
        from file in RuleFiles()
        from ruleGroup in Sequence(Load(file), "groups")
        from rule in Sequence(ruleGroup, "rules")
        select Scalar(rule, "expr");

    private static YamlNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(file);
        stream.Load(reader);
        return stream.Documents[0].RootNode;
    }

    private static IEnumerable<YamlNode> Sequence(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out var value) && value is YamlSequenceNode sequence ? sequence.Children : [];

    private static string Scalar(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value ?? "" : "";

    private static Dictionary<string, string> Map(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out var value) && value is YamlMappingNode mapping
            ? mapping.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value ?? "")
            : [];
}
