using System.Text.Json;
using System.Text.RegularExpressions;
using VoiceHive.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// The PromQL the repository's monitoring runs: every rule's expression and every dashboard panel's query, and the
/// metric selectors inside them. The promtool and dashboard tests read them here, and so do the end-to-end tests
/// on the AppHost, which link this file.
/// </summary>
internal static partial class MonitoringQueries
{
    private static readonly string PrometheusDirectory = Repository.Path("monitoring", "prometheus");
    private static readonly string GrafanaDirectory = Repository.Path("monitoring", "grafana");

    private static readonly HashSet<string> NotMetrics =
    [
        "sum", "rate", "increase", "max", "min", "avg", "count", "by", "without", "or", "and", "unless", "vector",
        "histogram_quantile", "offset", "on", "ignoring", "group_left", "group_right", "bool", "abs", "time",
    ];

    public static string[] RuleFiles() => Directory.GetFiles(Path.Combine(PrometheusDirectory, "rules"), "*.yml");

    public static IEnumerable<(string Name, string Expression, Dictionary<string, string> Labels, Dictionary<string, string> Annotations)> Alerts() =>
        from file in RuleFiles()
        from ruleGroup in Sequence(Load(file), "groups")
        from rule in Sequence(ruleGroup, "rules")
        let mapping = (YamlMappingNode)rule
        where mapping.Children.ContainsKey("alert")
        select (Scalar(rule, "alert"), Scalar(rule, "expr"), Map(rule, "labels"), Map(rule, "annotations"));

    /// <summary>Every rule's expression, alerting and recording.</summary>
    public static IEnumerable<string> RuleExpressions() =>
        from file in RuleFiles()
        from ruleGroup in Sequence(Load(file), "groups")
        from rule in Sequence(ruleGroup, "rules")
        select Scalar(rule, "expr");

    /// <summary>Every panel query, with its dashboard and panel title.</summary>
    public static IEnumerable<(string Dashboard, string Panel, string Expression)> PanelQueries() =>
        from file in Directory.GetFiles(Path.Combine(GrafanaDirectory, "dashboards"), "*.json")
        let dashboard = JsonDocument.Parse(File.ReadAllText(file)).RootElement
        from panel in dashboard.GetProperty("panels").EnumerateArray()
        from target in panel.GetProperty("targets").EnumerateArray()
        select (dashboard.GetProperty("uid").GetString()!, panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!);

    /// <summary>A panel query as Grafana sends it with "All" selected: variables replaced by what Grafana would put there.</summary>
    public static string Substitute(string expression) => expression
        .Replace("$hotel", ".*", StringComparison.Ordinal)
        .Replace("$instance", ".*", StringComparison.Ordinal)
        .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
        .Replace("$__range", "1h", StringComparison.Ordinal);

    /// <summary>The vector selectors of a PromQL expression: metric names with their matchers, functions and keywords left out.</summary>
    public static IEnumerable<string> Selectors(string expression)
    {
        // A string that is a function's argument (label_replace's) is not a selector; a matcher's value stays.
        var withoutArguments = StringLiteral().Replace(expression, match => match.Groups["operator"].Success ? match.Value : " ");
        var withoutGrouping = Grouping().Replace(withoutArguments, " ");
        foreach (Match match in Selector().Matches(withoutGrouping))
        {
            var name = match.Groups["name"].Value;
            if (!NotMetrics.Contains(name) && !match.Groups["call"].Success)
            {
                yield return name + match.Groups["matchers"].Value;
            }
        }
    }

    public static YamlNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(file);
        stream.Load(reader);
        return stream.Documents[0].RootNode;
    }

    public static IEnumerable<YamlNode> Sequence(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out var value) && value is YamlSequenceNode sequence ? sequence.Children : [];

    public static string Scalar(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value ?? "" : "";

    private static Dictionary<string, string> Map(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(key, out var value) && value is YamlMappingNode mapping
            ? mapping.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value ?? "")
            : [];

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<operator>[=~]\s*)?""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"(?<![\w:.])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<matchers>\{[^}]*\})?(?<call>\s*\()?")]
    private static partial Regex Selector();
}
