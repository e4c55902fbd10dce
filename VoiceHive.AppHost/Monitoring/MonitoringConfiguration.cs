using YamlDotNet.RepresentationModel;

namespace VoiceHive.AppHost.Monitoring;

/// <summary>
/// The one place where a running environment's Prometheus and Alertmanager configuration is derived from the
/// repository's <c>monitoring/</c> folder. The committed files are written for a deployment (secrets under
/// <c>/etc/alertmanager/secrets/</c>, the webhook at <c>http://orchestrator:8000</c>, targets in file_sd files);
/// a run writes a directory of its own with its addresses and secrets, and the repository stays as committed.
/// The AppHost uses it for both infrastructure forms; the tests and the benchmarks link this file and use it too.
/// </summary>
public static class MonitoringConfiguration
{
    /// <summary>Where the committed configuration puts Alertmanager's files (secrets/, templates/, web.yml).</summary>
    public const string DeployedAlertmanagerDirectory = "/etc/alertmanager";

    /// <summary>Where the committed configuration puts Prometheus's files (secrets/, web.yml).</summary>
    public const string DeployedPrometheusDirectory = "/etc/prometheus";

    /// <summary>The receiver that delivers every alert to the orchestrator's webhook.</summary>
    public const string WebhookReceiver = "voicehive-webhook";

    /// <summary>The directory of Prometheus's configuration that holds the file_sd files (addresses, no secrets).</summary>
    public const string TargetsDirectory = "targets";

    /// <summary>Every file_sd file prometheus.yml reads, each a job's targets.</summary>
    public static readonly string[] TargetFiles =
        ["orchestrator", "worker", "alertmanager", "redis-exporter", "postgres-exporter", "node-exporter", "health-probes"];

    /// <summary>
    /// Writes Prometheus's configuration directory: prometheus.yml (<see cref="PrometheusYaml"/>) and rules/ from
    /// <paramref name="monitoring"/> (at alerting speed if asked), secrets/ with the services' scrape token and
    /// Alertmanager's password, web.yml when its UI is to ask for a password, and a targets/ directory whose files exist
    /// from the start (empty until <see cref="WriteTargets"/> fills them).
    /// </summary>
    public static void WritePrometheus(string monitoring, string directory, PrometheusSettings settings)
    {
        var source = Path.Combine(monitoring, "prometheus");
        var fast = settings.Fast;
        Directory.CreateDirectory(Path.Combine(directory, "rules"));
        Directory.CreateDirectory(Path.Combine(directory, TargetsDirectory));
        var secrets = Directory.CreateDirectory(Path.Combine(directory, "secrets")).FullName;
        WriteSecret(Path.Combine(secrets, "scrape_token"), settings.ScrapeToken);
        WriteSecret(Path.Combine(secrets, "alertmanager_password"), settings.AlertmanagerPassword);
        File.WriteAllText(Path.Combine(directory, "prometheus.yml"), PrometheusYaml(monitoring, settings.DirectoryAsSeen ?? directory, fast));
        if (settings.WebPasswordHash is { } hash)
        {
            File.WriteAllText(Path.Combine(directory, "web.yml"), RenderWebConfig(File.ReadAllText(Path.Combine(source, "web.yml")), hash));
        }
        foreach (var stale in Directory.GetFiles(Path.Combine(directory, "rules"), "*.yml"))
        {
            File.Delete(stale);
        }

        foreach (var rules in Directory.GetFiles(Path.Combine(source, "rules"), "*.yml"))
        {
            var text = File.ReadAllText(rules);
            File.WriteAllText(Path.Combine(directory, "rules", Path.GetFileName(rules)), fast ? FastRules(text) : text);
        }

        foreach (var job in TargetFiles)
        {
            var file = Path.Combine(directory, TargetsDirectory, job + ".json");
            if (!File.Exists(file))
            {
                WriteTargets(directory, job, []);
            }
        }
    }

    /// <summary>Replaces one job's file_sd file (atomically: Prometheus may read it at any moment).</summary>
    public static void WriteTargets(string prometheusDirectory, string job, IReadOnlyList<TargetGroup> groups)
    {
        var file = Path.Combine(prometheusDirectory, TargetsDirectory, job + ".json");
        var json = System.Text.Json.JsonSerializer.Serialize(groups.Select(g => new { targets = g.Targets, labels = g.Labels ?? new Dictionary<string, string>() }));
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, json);
        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>
    /// Writes Alertmanager's configuration directory: alertmanager.yml from <paramref name="monitoring"/> with the
    /// webhook at <paramref name="settings"/>' address and every <c>/etc/alertmanager/</c> path moved to where
    /// Alertmanager will see this directory, templates/, and secrets/ with the three secrets as files only the owner
    /// can read.
    /// </summary>
    public static void WriteAlertmanager(string monitoring, string directory, AlertmanagerSettings settings)
    {
        var source = Path.Combine(monitoring, "alertmanager");
        var templates = Directory.CreateDirectory(Path.Combine(directory, "templates")).FullName;
        foreach (var template in Directory.GetFiles(Path.Combine(source, "templates")))
        {
            File.Copy(template, Path.Combine(templates, Path.GetFileName(template)), overwrite: true);
        }

        var secrets = Directory.CreateDirectory(Path.Combine(directory, "secrets")).FullName;
        WriteSecret(Path.Combine(secrets, "alert_webhook_token"), settings.WebhookToken);
        WriteSecret(Path.Combine(secrets, "slack_webhook_url"), settings.SlackWebhookUrl);
        WriteSecret(Path.Combine(secrets, "pagerduty_routing_key"), settings.PagerDutyRoutingKey);

        if (settings.WebPasswordHash is { } hash)
        {
            File.WriteAllText(Path.Combine(directory, "web.yml"), RenderWebConfig(File.ReadAllText(Path.Combine(source, "web.yml")), hash));
        }

        var seenAs = (settings.DirectoryAsSeen ?? directory).TrimEnd('/');
        var yaml = Load(File.ReadAllText(Path.Combine(source, "alertmanager.yml")));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        MovePaths(root, DeployedAlertmanagerDirectory, seenAs);
        root.Children[new YamlScalarNode("templates")] = new YamlSequenceNode(new YamlScalarNode($"{seenAs}/templates/*.tmpl"));
        foreach (var receiver in Sequence(root, "receivers").OfType<YamlMappingNode>())
        {
            if (Scalar(receiver, "name") == WebhookReceiver)
            {
                foreach (var webhook in Sequence(receiver, "webhook_configs").OfType<YamlMappingNode>())
                {
                    webhook.Children[new YamlScalarNode("url")] = new YamlScalarNode(settings.WebhookUrl.ToString());
                }
            }

            if (settings.PagerDutyUrl is { } pagerDuty)
            {
                foreach (var page in Sequence(receiver, "pagerduty_configs").OfType<YamlMappingNode>())
                {
                    page.Children[new YamlScalarNode("url")] = new YamlScalarNode(pagerDuty.ToString());
                }
            }
        }

        if (settings.Fast && root.Children.TryGetValue(new YamlScalarNode("route"), out var route) && route is YamlMappingNode routeNode)
        {
            routeNode.Children[new YamlScalarNode("group_wait")] = new YamlScalarNode("1s");
            routeNode.Children[new YamlScalarNode("group_interval")] = new YamlScalarNode("1s");
        }

        File.WriteAllText(Path.Combine(directory, "alertmanager.yml"), Save(yaml, "monitoring/alertmanager/alertmanager.yml"));
    }

    /// <summary>
    /// The committed prometheus.yml with every <c>/etc/prometheus/</c> path (its secrets) moved to where Prometheus
    /// sees <paramref name="directoryAsSeen"/>, and 1 s scrapes and evaluation when <paramref name="fast"/>.
    /// </summary>
    public static string PrometheusYaml(string monitoring, string directoryAsSeen, bool fast)
    {
        var yaml = Load(File.ReadAllText(Path.Combine(monitoring, "prometheus", "prometheus.yml")));
        MovePaths(yaml.Documents[0].RootNode, DeployedPrometheusDirectory, directoryAsSeen.TrimEnd('/'));
        var text = Save(yaml, "monitoring/prometheus/prometheus.yml");
        return fast ? FastScrapes(text) : text;
    }

    /// <summary>A web config template (monitoring/prometheus/web.yml, monitoring/alertmanager/web.yml) with the bcrypt hash of its user's password in place of the placeholder.</summary>
    public static string RenderWebConfig(string template, string bcryptHash) =>
        System.Text.RegularExpressions.Regex.Replace(template, "__[A-Z_]+_BCRYPT__", bcryptHash.Replace("$", "$$", StringComparison.Ordinal));

    /// <summary>prometheus.yml with 1 s scrape and evaluation intervals (and timeouts that fit them).</summary>
    public static string FastScrapes(string configuration) =>
        System.Text.RegularExpressions.Regex.Replace(configuration, @"(?m)^(\s*)(scrape_interval|evaluation_interval|scrape_timeout): \S+", "$1$2: 1s");

    /// <summary>Rules with 20 s rate windows and 5 s "for", so that an alert fires within a demonstration or a test (promtool's tests cover the real windows).</summary>
    public static string FastRules(string rules) =>
        System.Text.RegularExpressions.Regex.Replace(rules.Replace("[5m]", "[20s]", StringComparison.Ordinal), @"(?m)^(\s*)for: [23]m$", "$1for: 5s");

    private static YamlStream Load(string text)
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(text);
        yaml.Load(reader);
        return yaml;
    }

    private static string Save(YamlStream yaml, string source)
    {
        using var writer = new StringWriter();
        yaml.Save(writer, assignAnchors: false);
        // YamlDotNet ends the document with "...", which nothing here needs.
        return $"# Derived from {source} by VoiceHive's MonitoringConfiguration: do not edit.\n" + writer.ToString().TrimEnd().TrimEnd('.').TrimEnd() + "\n";
    }

    private static void MovePaths(YamlNode node, string from, string to)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children.ToList())
                {
                    if (value is YamlScalarNode { Value: { } text } && text.StartsWith(from + "/", StringComparison.Ordinal))
                    {
                        mapping.Children[key] = new YamlScalarNode(to + text[from.Length..]);
                    }
                    else
                    {
                        MovePaths(value, from, to);
                    }
                }

                break;
            case YamlSequenceNode sequence:
                foreach (var child in sequence.Children)
                {
                    MovePaths(child, from, to);
                }

                break;
        }
    }

    private static IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode sequence ? sequence.Children : [];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    /// <summary>
    /// Writes a secret file readable by its owner only: created so (never readable by others, not even for a moment)
    /// and moved into place, so a reader sees the old value or the new one.
    /// </summary>
    public static void WriteSecret(string path, string value)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(value);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>One file_sd group: targets and their labels.</summary>
public sealed record TargetGroup(IReadOnlyList<string> Targets, IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>What an environment gives Prometheus.</summary>
public sealed record PrometheusSettings(string ScrapeToken, string AlertmanagerPassword)
{
    /// <summary>Where Prometheus sees the configuration directory, when not at its path here (a container's mount point).</summary>
    public string? DirectoryAsSeen { get; init; }

    /// <summary>1 s scrapes and evaluation, 20 s rate windows and 5 s "for", for demonstrations and tests.</summary>
    public bool Fast { get; init; }

    /// <summary>The bcrypt hash of the password its UI and API ask for (web.yml); none on a loopback-only host process.</summary>
    public string? WebPasswordHash { get; init; }
}

/// <summary>What an environment gives Alertmanager.</summary>
public sealed record AlertmanagerSettings(Uri WebhookUrl, string WebhookToken, string SlackWebhookUrl, string PagerDutyRoutingKey)
{
    /// <summary>Where Alertmanager sees the configuration directory, when not at its path here (a container's mount point).</summary>
    public string? DirectoryAsSeen { get; init; }

    /// <summary>PagerDuty's Events API, when not PagerDuty's own (a test's fake).</summary>
    public Uri? PagerDutyUrl { get; init; }

    /// <summary>1 s grouping, for demonstrations and tests.</summary>
    public bool Fast { get; init; }

    /// <summary>The bcrypt hash of the password its UI and API ask for (web.yml); none on a loopback-only host process.</summary>
    public string? WebPasswordHash { get; init; }
}
