using VoiceHive.AppHost.Monitoring;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// What a run derives from monitoring/ (the AppHost's <see cref="MonitoringConfiguration"/>): Alertmanager's
/// configuration still passes amtool and routes as committed, only addresses, paths and (on request) speeds change,
/// and the secrets are files only their owner reads. The blackbox exporter's modules pass its own check.
/// </summary>
public sealed class MonitoringConfigurationTests
{
    private static readonly string Monitoring = Repository.Path("monitoring");

    [Fact]
    public async Task TheDerivedAlertmanagerConfigurationPassesAmtoolAndRoutesAsCommitted()
    {
        var directory = TestDirectories.Create("am-derived");

        MonitoringConfiguration.WriteAlertmanager(Monitoring, directory, Settings());

        var configuration = Path.Combine(directory, "alertmanager.yml");
        var check = await Amtool.RunAsync("check-config", configuration);
        var critical = await Amtool.RunAsync("config", "routes", "test", $"--config.file={configuration}", "--verify.receivers=voicehive-webhook,pagerduty-critical",
            "severity=critical", "alertname=CallSuccessRateLow", "service=voicehive-orchestrator");
        var warning = await Amtool.RunAsync("config", "routes", "test", $"--config.file={configuration}", "--verify.receivers=voicehive-webhook,slack-warnings",
            "severity=warning", "alertname=PMSResponseTimeSlow", "service=voicehive-orchestrator");
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.True(critical.ExitCode == 0, critical.Output);
        Assert.True(warning.ExitCode == 0, warning.Output);
    }

    [Fact]
    public async Task OnlyTheWebhookAddressTheSecretPathsAndTheTemplatesPathChange()
    {
        var directory = TestDirectories.Create("am-derived");

        MonitoringConfiguration.WriteAlertmanager(Monitoring, directory, Settings() with { DirectoryAsSeen = "/etc/alertmanager" });

        var derived = await File.ReadAllTextAsync(Path.Combine(directory, "alertmanager.yml"), TestContext.Current.CancellationToken);
        Assert.Contains("url: http://localhost:5000/monitoring/alerts/webhook", derived, StringComparison.Ordinal);
        Assert.DoesNotContain("orchestrator:8000", derived, StringComparison.Ordinal);
        Assert.Contains("credentials_file: /etc/alertmanager/secrets/alert_webhook_token", derived, StringComparison.Ordinal);
        Assert.Contains("- /etc/alertmanager/templates/*.tmpl", derived, StringComparison.Ordinal);
        Assert.Contains("group_wait: 10s", derived, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", derived, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(directory, "templates", "voicehive.tmpl")));
    }

    [Fact]
    public async Task SecretsAreFilesOnlyTheirOwnerReadsEvenWhenRewritten()
    {
        var directory = TestDirectories.Create("am-derived");
        var token = Path.Combine(directory, "secrets", "alert_webhook_token");

        MonitoringConfiguration.WriteAlertmanager(Monitoring, directory, Settings());
        // A file left by an older run with a wider mode is replaced, not rewritten in place.
        File.SetUnixFileMode(token, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        MonitoringConfiguration.WriteAlertmanager(Monitoring, directory, Settings() with { WebhookToken = "rotated-token" });

        Assert.Equal("rotated-token", await File.ReadAllTextAsync(token, TestContext.Current.CancellationToken));
        Assert.All(Directory.GetFiles(Path.Combine(directory, "secrets")),
            secret => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secret)));
        Assert.Empty(Directory.GetFiles(Path.Combine(directory, "secrets"), "*.tmp"));
    }

    [Fact]
    public async Task PrometheusReadsItsSecretsFromItsDirectoryAndFastAlertingShortensOnlyTheIntervals()
    {
        var alertmanager = TestDirectories.Create("am-derived");
        var prometheus = TestDirectories.Create("prom-derived");

        MonitoringConfiguration.WriteAlertmanager(Monitoring, alertmanager, Settings() with { Fast = true });
        MonitoringConfiguration.WritePrometheus(Monitoring, prometheus, new PrometheusSettings("a-scrape-token", "a-password") { Fast = true });

        var derived = await File.ReadAllTextAsync(Path.Combine(alertmanager, "alertmanager.yml"), TestContext.Current.CancellationToken);
        var rules = await File.ReadAllTextAsync(Path.Combine(prometheus, "rules", "voicehive_alerts.yml"), TestContext.Current.CancellationToken);
        var scrapes = await File.ReadAllTextAsync(Path.Combine(prometheus, "prometheus.yml"), TestContext.Current.CancellationToken);
        var check = await Promtool.RunAsync(["check", "config", Path.Combine(prometheus, "prometheus.yml")]);
        var token = Path.Combine(prometheus, "secrets", "scrape_token");
        Assert.Contains("group_wait: 1s", derived, StringComparison.Ordinal);
        Assert.Contains("[20s]", rules, StringComparison.Ordinal);
        Assert.DoesNotContain("[5m]", rules, StringComparison.Ordinal);
        Assert.DoesNotContain("for: 2m", rules, StringComparison.Ordinal);
        Assert.DoesNotContain("scrape_interval: 15s", scrapes, StringComparison.Ordinal);
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Contains($"credentials_file: {token}", scrapes, StringComparison.Ordinal);
        Assert.Equal("a-scrape-token", await File.ReadAllTextAsync(token, TestContext.Current.CancellationToken));
        Assert.All(MonitoringConfiguration.TargetFiles, job => Assert.True(File.Exists(Path.Combine(prometheus, "targets", job + ".json")), job));
    }

    [Fact]
    public async Task TheBlackboxExportersModulesPassItsCheck()
    {
        var result = await ExternalTool.RunAsync("prometheus-blackbox-exporter", "prometheus-blackbox-exporter",
            ["--config.check", $"--config.file={Path.Combine(Monitoring, "blackbox", "blackbox.yml")}"]);

        Assert.True(result.ExitCode == 0, result.Output);
    }

    private static AlertmanagerSettings Settings() =>
        new(new Uri("http://localhost:5000/monitoring/alerts/webhook"), "s3cr3t-token", "http://127.0.0.1:9/slack", "s3cr3t-key");
}
