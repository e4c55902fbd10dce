using System.Net;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Monitoring;

/// <summary>
/// Prometheus's and Alertmanager's own UIs and APIs behind basic auth: the web config templates in monitoring/,
/// rendered as a deployment renders them (a bcrypt hash in place of the placeholder), pass promtool, and a real
/// Alertmanager started with its web config asks for the password.
/// </summary>
public sealed class WebConfigTests
{
    [Theory]
    [InlineData("prometheus")]
    [InlineData("alertmanager")]
    public async Task TheRenderedWebConfigPassesPromtool(string component)
    {
        var file = Path.Combine(TestDirectories.Create("web-config"), "web.yml");
        await File.WriteAllTextAsync(file, MonitoringFiles.WebConfig(component), TestContext.Current.CancellationToken);

        var result = await Promtool.RunAsync(["check", "web-config", file]);

        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Fact]
    public async Task AlertmanagerWithItsWebConfigAsksForThePassword()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var alertmanager = await AlertmanagerServer.StartAsync(MonitoringFiles.AlertmanagerConfig("http://127.0.0.1:9/", "x", "x"),
            webConfigYaml: MonitoringFiles.WebConfig("alertmanager"), basicAuth: ("alertmanager-admin", MonitoringFiles.WebPassword));
        using var anonymous = new HttpClient { BaseAddress = alertmanager.Http.BaseAddress };

        using var refused = await anonymous.GetAsync("api/v2/status", cancellationToken);
        using var served = await alertmanager.Http.GetAsync("api/v2/status", cancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }
}
