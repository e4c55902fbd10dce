using System.Diagnostics;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Configuration;
using VoiceHive.AppHost;
using VoiceHive.AppHost.Infrastructure;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.AppHost.Tests;

/// <summary>
/// The model the AppHost builds, without running it: the infrastructure's two forms are one model (same names,
/// endpoints, connection strings and health checks), the form is chosen as documented, and what azd deploys is the
/// application alone, as containers and secret parameters.
/// </summary>
public sealed class ModelTests
{
    private static readonly string[] Infrastructure =
        ["redis", "postgres", "voicehivedb", "prometheus", "alertmanager", "redis-exporter", "postgres-exporter", "node-exporter", "blackbox-exporter"];

    [Fact]
    public async Task ContainersAndHostProcessesAreTheSameModel()
    {
        var containers = await ModelAsync("containers");
        var processes = await ModelAsync("processes");

        Assert.Equal(Infrastructure.Select(name => $"{name}: {Describe(containers[name])}"), Infrastructure.Select(name => $"{name}: {Describe(processes[name])}"));

        Assert.All(Infrastructure.Where(n => n != "voicehivedb"), name => Assert.IsAssignableFrom<ContainerResource>(containers[name]));
        Assert.All(Infrastructure.Where(n => n != "voicehivedb"), name => Assert.IsAssignableFrom<ExecutableResource>(processes[name]));
        Assert.Contains("grafana", containers.Keys);
        Assert.Contains("jaeger", containers.Keys);
        Assert.DoesNotContain("grafana", processes.Keys);
        Assert.DoesNotContain("jaeger", processes.Keys);
    }

    [Fact]
    public async Task TheContainerFormCopiesSecretsInAndNamesItsVolumesForThisAppHost()
    {
        var containers = await ModelAsync("containers");

        foreach (var name in (string[])["prometheus", "alertmanager"])
        {
            var resource = containers[name];
            var files = Assert.Single(resource.Annotations.OfType<ContainerFileSystemCallbackAnnotation>());
            Assert.Equal(65534, files.DefaultOwner);
            Assert.True(files.Umask!.Value.HasFlag(UnixFileMode.OtherRead), "the copied files are for the image's user alone");
            // What is mounted from the host holds no secret: Prometheus's file_sd targets only.
            Assert.All(resource.Annotations.OfType<ContainerMountAnnotation>().Where(m => m.Type == ContainerMountType.BindMount),
                mount => Assert.EndsWith("/targets", mount.Target, StringComparison.Ordinal));
        }

        var volumes = containers.Values.SelectMany(r => r.Annotations.OfType<ContainerMountAnnotation>())
            .Where(m => m.Type == ContainerMountType.Volume).Select(m => m.Source!).ToList();
        Assert.Equal(5, volumes.Count);
        // Aspire's names: the application, a hash of this AppHost's path, the resource; not one name every checkout shares.
        Assert.All(volumes, volume => Assert.Matches("^voicehive[.-]apphost-[0-9a-f]+-[a-z]+-data$", volume));
        Assert.Single(containers["orchestrator"].Annotations.OfType<EndpointAnnotation>(), e => e.TargetHost == "0.0.0.0");
    }

    [Theory]
    [InlineData("containers", false, true)]
    [InlineData("processes", true, false)]
    [InlineData("auto", true, true)]
    [InlineData("auto", false, false)]
    [InlineData(null, false, false)]
    public void TheSettingOverridesWhatTheMachineSays(string? setting, bool runtimeAnswers, bool containers)
    {
        var probed = false;

        var form = InfrastructureForm.Choose(Configuration(("Infrastructure:Form", setting)), publishing: false, _ =>
        {
            probed = true;
            return (runtimeAnswers, runtimeAnswers ? "docker 28 answers" : "docker's daemon does not answer");
        });

        Assert.Equal(containers ? InfrastructureKind.Containers : InfrastructureKind.HostProcesses, form.Kind);
        Assert.Equal(setting is null or "auto", probed);
        Assert.False(string.IsNullOrWhiteSpace(form.Reason));
    }

    [Fact]
    public void PublishingAlwaysTakesContainersAndABadSettingIsNamed()
    {
        var published = InfrastructureForm.Choose(Configuration(("Infrastructure:Form", "processes")), publishing: true, _ => throw new InvalidOperationException("not asked"));
        var error = Assert.Throws<AppHostConfigurationException>(() => InfrastructureForm.Choose(Configuration(("Infrastructure:Form", "vms")), publishing: false));

        Assert.Equal(InfrastructureKind.Containers, published.Kind);
        Assert.Contains("Infrastructure:Form", error.Message, StringComparison.Ordinal);
        Assert.Contains("'vms'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Infrastructure:Form=vms", "Infrastructure:Form must be 'auto', 'containers' or 'processes', not 'vms'.")]
    [InlineData("Monitoring:PagerDutyUrl=events.pagerduty", "Monitoring:PagerDutyUrl must be an absolute http(s) URL, not 'events.pagerduty'.")]
    [InlineData("Monitoring:FastAlerting=sometimes", "Monitoring:FastAlerting must be 'true' or 'false', not 'sometimes'.")]
    [InlineData("Parameters:jwt-signing-key=c2hvcnQ=", "Parameter jwt-signing-key must be base64 of 32 bytes or more")]
    public async Task TheAppHostRefusesABadSettingInOneLine(string setting, string message)
    {
        // Every other parameter given, so that a run that got further would not generate and keep them in user secrets.
        string[] parameters = ["redis-password", "postgres-password", "alert-webhook-token", "caller-hash-key", "scrape-token",
            "prometheus-web-password", "alertmanager-web-password", "jwt-signing-key"];
        var arguments = parameters.Select(name => $"--Parameters:{name}={(name == "jwt-signing-key" ? VoiceHiveAppHost.SigningKey : "model-tests-" + name)}")
            .Append($"--Infrastructure:DataDirectory={TestDirectories.Create("refused")}")
            .Append("--" + setting);

        var (exitCode, output) = await RunAppHostAsync(arguments);

        Assert.Equal(1, exitCode);
        var failure = Assert.Single(output.Split('\n'), line => line.StartsWith("Start-up failed: ", StringComparison.Ordinal));
        Assert.Contains(message, failure, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAzdManifestHoldsTheApplicationAsContainersAndItsSecretsAsParameters()
    {
        var manifest = Path.Combine(TestDirectories.Create("manifest"), "manifest.json");

        var (exitCode, output) = await PublishManifestAsync(manifest);

        Assert.True(exitCode == 0, output);
        var resources = JsonDocument.Parse(await File.ReadAllTextAsync(manifest, TestContext.Current.CancellationToken)).RootElement.GetProperty("resources")
            .EnumerateObject().ToDictionary(r => r.Name, r => r.Value);
        string Type(string name) => resources[name].GetProperty("type").GetString()!;
        Assert.StartsWith("project.", Type("orchestrator"), StringComparison.Ordinal);
        Assert.StartsWith("project.", Type("worker"), StringComparison.Ordinal);
        Assert.StartsWith("container.", Type("redis"), StringComparison.Ordinal);
        Assert.StartsWith("container.", Type("postgres"), StringComparison.Ordinal);
        Assert.Contains("voicehivedb", resources.Keys);
        Assert.DoesNotContain(resources.Values, r => r.GetProperty("type").GetString()!.StartsWith("executable.", StringComparison.Ordinal));
        foreach (var name in (string[])["traffic", "prometheus", "alertmanager", "redis-exporter", "postgres-exporter", "node-exporter", "blackbox-exporter", "grafana", "jaeger"])
        {
            Assert.DoesNotContain(name, resources.Keys);
        }

        foreach (var secret in (string[])["redis-password", "postgres-password", "alert-webhook-token", "caller-hash-key", "scrape-token", "jwt-signing-key"])
        {
            Assert.Equal("parameter.v0", Type(secret));
            Assert.True(resources[secret].GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean(), secret);
        }

        var orchestratorEnvironment = resources["orchestrator"].GetProperty("env").EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetString());
        Assert.Equal("{alert-webhook-token.value}", orchestratorEnvironment["ALERT_WEBHOOK_TOKEN"]);
        Assert.Equal("{voicehivedb.connectionString}", orchestratorEnvironment["ConnectionStrings__voicehivedb"]);
        Assert.Equal("{jwt-signing-key.value}", orchestratorEnvironment["Authentication__Schemes__Bearer__SigningKeys__apphost__Value"]);
        Assert.Equal("{scrape-token.value}", orchestratorEnvironment["Monitoring__ScrapeToken"]);
    }

    /// <summary>What must be the same in both forms: endpoints, connection string, health checks, and whether others wait on it.</summary>
    private static string Describe(IResource resource) => string.Join(" | ",
        "endpoints: " + string.Join(",", resource.Annotations.OfType<EndpointAnnotation>().Select(e => $"{e.Name}/{e.UriScheme}").Order()),
        "connection string: " + (resource is IResourceWithConnectionString withConnectionString ? withConnectionString.ConnectionStringExpression.ValueExpression : "none"),
        "health checks: " + resource.Annotations.OfType<HealthCheckAnnotation>().Count());

    private static async Task<Dictionary<string, IResource>> ModelAsync(string form)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.VoiceHive_AppHost>(
            [$"Infrastructure:Form={form}", $"Infrastructure:DataDirectory={TestDirectories.Create("model")}"], TestContext.Current.CancellationToken);
        return builder.Resources.ToDictionary(r => r.Name);
    }

    private static IConfiguration Configuration(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    /// <summary>What azd runs: the AppHost (as built with these tests) with the manifest publisher.</summary>
    private static Task<(int ExitCode, string Output)> PublishManifestAsync(string manifest) =>
        RunAppHostAsync(["--publisher", "manifest", "--output-path", manifest]);

    /// <summary>The built AppHost as <c>dotnet run</c> starts it, in run mode unless told to publish, with the dashboard on plain HTTP.</summary>
    private static async Task<(int ExitCode, string Output)> RunAppHostAsync(IEnumerable<string> arguments)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in ((string[])["run", "--project", Repository.Path("VoiceHive.AppHost"), "--no-build", "-c", configuration, "--no-launch-profile", "--"]).Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        info.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = "http://127.0.0.1:0";
        info.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = "http://127.0.0.1:0";
        // A bound for a run that does not end as it should (one that started the whole system, say), not a measure.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bounded.CancelAfter(TimeSpan.FromMinutes(5));
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(bounded.Token);
        var error = process.StandardError.ReadToEndAsync(bounded.Token);
        try
        {
            await process.WaitForExitAsync(bounded.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await output + await error);
    }
}
