namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// How the end-to-end tests on the AppHost read the selectors out of rules and panels (every one of which must find
/// a series on the running system there).
/// </summary>
public sealed class MonitoringQueriesTests
{
    [Theory]
    [InlineData("sum(rate(voicehive_errors_total[5m])) > 0.05", "voicehive_errors_total")]
    [InlineData("histogram_quantile(0.95, sum by (le, hotel_id) (rate(voicehive_pms_response_seconds_bucket[5m]))) > 2", "voicehive_pms_response_seconds_bucket")]
    [InlineData("up{job=~\"voicehive-orchestrator|voicehive-worker\"} == 0", "up{job=~\"voicehive-orchestrator|voicehive-worker\"}")]
    [InlineData("sum(x offset 15m) >= sum(y)", "x;y")]
    [InlineData("voicehive:call_error_ratio:rate1h > (14.4 * 0.01)", "voicehive:call_error_ratio:rate1h")]
    [InlineData("label_replace(max by (job) (m{job=~\"a-b|c\"}), \"service\", \"voicehive-worker\", \"job\", \"w-b\") > 1", "m{job=~\"a-b|c\"}")]
    public void SelectorsAreReadFromExpressions(string expression, string expected)
    {
        Assert.Equal(expected.Split(';'), MonitoringQueries.Selectors(expression));
    }

    [Fact]
    public void TheRulesAndDashboardsHoldEnoughQueriesToBeWorthChecking()
    {
        var selectors = MonitoringQueries.RuleExpressions().SelectMany(MonitoringQueries.Selectors).Distinct().ToList();

        Assert.True(selectors.Count >= 12, $"only {selectors.Count} selectors found: {string.Join(", ", selectors)}");
        Assert.True(MonitoringQueries.PanelQueries().Count() >= 30, "fewer than 30 panel queries found");
    }
}
