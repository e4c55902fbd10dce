using System.Text.Json;
using VoiceHive.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace VoiceHive.Tests.Monitoring;

/// <summary>The provisioned Grafana data sources and dashboards: the shape Grafana 11 provisions without edits.</summary>
public sealed class GrafanaDashboardsTests
{
    private static readonly string Directory = Repository.Path("monitoring", "grafana");

    public static TheoryData<string> Dashboards() => new(System.IO.Directory.GetFiles(Path.Combine(Directory, "dashboards"), "*.json").Select(Path.GetFileName)!);

    [Fact]
    public void TheFourDashboardsOfTheGuideAndTheApiAreThere()
    {
        var uids = System.IO.Directory.GetFiles(Path.Combine(Directory, "dashboards"), "*.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("uid").GetString()).ToHashSet();

        Assert.Equal(new HashSet<string?> { "voicehive-business", "voicehive-system", "voicehive-sla", "voicehive-api" }, uids);
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void EachDashboardIsWellFormed(string file)
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "dashboards", file))).RootElement;

        Assert.True(dashboard.GetProperty("schemaVersion").GetInt32() >= 39);
        Assert.False(dashboard.TryGetProperty("id", out var id) && id.ValueKind != JsonValueKind.Null, "a provisioned dashboard has no id");
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Contains("hotel", variables);
        Assert.Contains("instance", variables);
        var panels = dashboard.GetProperty("panels").EnumerateArray().ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("uid").GetString());
            var grid = panel.GetProperty("gridPos");
            Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"{title} has no query");
            Assert.Equal(targets.Count, targets.Select(t => t.GetProperty("refId").GetString()).Distinct().Count());
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()), $"{title} has an empty query"));
            if (panel.TryGetProperty("links", out var links))
            {
                foreach (var link in links.EnumerateArray())
                {
                    Assert.True(File.Exists(Repository.Path(link.GetProperty("url").GetString()!.Split('/'))), $"{title} links to a missing runbook");
                }
            }
        }
    }

    [Fact]
    public void DataSourcesHaveTheUidsTheDashboardsUse()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Directory, "provisioning", "datasources", "datasources.yml")))
        {
            stream.Load(reader);
        }

        var sources = ((YamlSequenceNode)((YamlMappingNode)stream.Documents[0].RootNode).Children["datasources"]).Children
            .Select(s => ((YamlMappingNode)s).Children)
            .ToDictionary(s => ((YamlScalarNode)s["uid"]).Value!, s => ((YamlScalarNode)s["type"]).Value!);

        Assert.Equal("prometheus", sources["prometheus"]);
        Assert.Equal("jaeger", sources["jaeger"]);
    }

    [Theory]
    [InlineData("rate(x{hotel_id=~\"$hotel\",instance=~\"$instance\"}[$__rate_interval])", "rate(x{hotel_id=~\".*\",instance=~\".*\"}[1m])")]
    [InlineData("increase(x[$__range])", "increase(x[1h])")]
    public void DashboardVariablesAreSubstitutedForEvaluation(string expression, string expected) =>
        Assert.Equal(expected, MonitoringQueries.Substitute(expression));
}
