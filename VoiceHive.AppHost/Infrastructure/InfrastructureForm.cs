using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VoiceHive.AppHost.Infrastructure;

/// <summary>How the infrastructure (Redis, PostgreSQL, the monitoring stack and the exporters) runs.</summary>
internal enum InfrastructureKind
{
    /// <summary>Pinned images with data volumes, where Docker or Podman answers.</summary>
    Containers,

    /// <summary>The Debian packages' binaries as executables on loopback, state in one data directory.</summary>
    HostProcesses,
}

/// <summary>
/// The form the infrastructure takes, chosen once before the model is built: setting <c>Infrastructure:Form</c>
/// (<c>containers</c>, <c>processes</c> or <c>auto</c>, the default), and under <c>auto</c> whether a container
/// runtime answers. Publishing always takes containers: a deployment target runs images.
/// </summary>
internal static class InfrastructureFormExtensions
{
    /// <summary>Chooses the form from configuration and the machine, and logs the choice once the AppHost starts.</summary>
    public static InfrastructureForm ChooseInfrastructureForm(this IDistributedApplicationBuilder builder)
    {
        var form = InfrastructureForm.Choose(builder.Configuration, builder.ExecutionContext.IsPublishMode);
        if (form.Containers && builder.ExecutionContext.IsRunMode && builder.Configuration[ContainerTunnelSetting] is null)
        {
            // Containers (Alertmanager, the blackbox exporter) reach the services on the host through Aspire's container
            // tunnel, which works where Docker's host gateway cannot reach a loopback listener (Docker Engine on Linux).
            builder.Configuration[ContainerTunnelSetting] = "true";
        }

        form.LogAtStart(builder);
        return form;
    }

    /// <summary>
    /// In the container form, has <paramref name="monitoring"/> (a container) reference each service's endpoint, for
    /// which Aspire gives the endpoint an address on its container network (<see cref="InfrastructureForm.AddressAsSeenByMonitoringAsync"/>).
    /// </summary>
    public static IResourceBuilder<T> MonitoringReaches<T>(this IResourceBuilder<T> monitoring, InfrastructureForm form, params IResourceBuilder<ProjectResource>[] services)
        where T : IResourceWithEnvironment
    {
        if (form.Containers)
        {
            foreach (var service in services)
            {
                monitoring.WithEnvironment($"VOICEHIVE_{service.Resource.Name.ToUpperInvariant()}_URL", service.GetEndpoint(HostProcess.HttpEndpoint));
            }
        }

        return monitoring;
    }

    private const string ContainerTunnelSetting = "ASPIRE_ENABLE_CONTAINER_TUNNEL";
}

internal sealed record InfrastructureForm(InfrastructureKind Kind, string Reason, string DataDirectory)
{
    public const string Section = "Infrastructure";

    public bool Containers => Kind == InfrastructureKind.Containers;

    public bool HostProcesses => Kind == InfrastructureKind.HostProcesses;

    /// <summary>The directory a host-process resource keeps its state in (kept between runs; delete it to start afresh).</summary>
    public string StateOf(string resource) => Path.Combine(DataDirectory, resource);

    /// <summary>
    /// The host a service's replica announces for Prometheus to scrape it on its own: in the container form the
    /// Docker host as containers see it (the services then listen on every interface, see <c>AddService</c>).
    /// </summary>
    public string HostAsSeenByMonitoring => Containers ? "host.docker.internal" : "localhost";

    /// <summary>
    /// The <c>host:port</c> at which the monitoring stack reaches <paramref name="resource"/>'s endpoint. Host processes:
    /// loopback and the port Aspire allocated. Containers: another container by its name on Aspire's container network;
    /// a service on the host as Aspire resolves it for containers (its container tunnel, or Docker's host gateway), for
    /// which a container must reference the endpoint (<see cref="MonitoringReaches"/>).
    /// </summary>
    public async Task<string> AddressAsSeenByMonitoringAsync(IResourceWithEndpoints resource, string endpointName, CancellationToken cancellationToken)
    {
        if (HostProcesses)
        {
            return $"localhost:{await resource.GetEndpoint(endpointName).Property(EndpointProperty.Port).GetValueAsync(cancellationToken)}";
        }

        if (resource is ContainerResource)
        {
            return $"{resource.Name}:{resource.GetEndpoint(endpointName).TargetPort}";
        }

        return await resource.GetEndpoint(endpointName, KnownNetworkIdentifiers.DefaultAspireContainerNetwork)
            .Property(EndpointProperty.HostAndPort).GetValueAsync(cancellationToken) ?? throw new InvalidOperationException($"{resource.Name} has no address for containers.");
    }

    public static InfrastructureForm Choose(IConfiguration configuration, bool publishing, Func<string?, (bool Answers, string Description)>? probe = null)
    {
        var dataDirectory = configuration[$"{Section}:DataDirectory"] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : DefaultDataDirectory();
        if (publishing)
        {
            return new(InfrastructureKind.Containers, "publishing: a deployment target runs container images", dataDirectory);
        }

        var setting = configuration[$"{Section}:Form"]?.Trim().ToLowerInvariant();
        switch (setting)
        {
            case "containers":
                return new(InfrastructureKind.Containers, "Infrastructure:Form is 'containers'", dataDirectory);
            case "processes":
                return new(InfrastructureKind.HostProcesses, "Infrastructure:Form is 'processes'", dataDirectory);
            case null or "" or "auto":
                break;
            default:
                throw new AppHostConfigurationException($"Infrastructure:Form must be 'auto', 'containers' or 'processes', not '{setting}'.");
        }

        var (answers, description) = (probe ?? ProbeContainerRuntime)(configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"]);
        return answers
            ? new(InfrastructureKind.Containers, description, dataDirectory)
            : new(InfrastructureKind.HostProcesses, description, dataDirectory);
    }

    /// <summary>Logs the choice once the AppHost starts.</summary>
    internal void LogAtStart(IDistributedApplicationBuilder builder) =>
        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            var logger = @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("VoiceHive.AppHost");
            if (Containers)
            {
                logger.LogInformation("Infrastructure runs in containers ({Reason}).", Reason);
            }
            else
            {
                logger.LogInformation(
                    "Infrastructure runs as host processes ({Reason}); state is kept in {DataDirectory} (delete it to start afresh). " +
                    "Grafana and Jaeger need containers and are left out: traces, logs and metrics are in this dashboard. " +
                    "Prometheus and Alertmanager listen on loopback only, without the basic auth their container form has.",
                    Reason, DataDirectory);
            }

            return Task.CompletedTask;
        });

    private static string DefaultDataDirectory() =>
        OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "voicehive")
            // World-traversable, kept across reboots, and reachable by the postgres user when the AppHost runs as root.
            : "/var/tmp/voicehive";

    /// <summary>Asks the configured runtime (or docker, then podman) whether its daemon answers, within a few seconds.</summary>
    private static (bool Answers, string Description) ProbeContainerRuntime(string? preferred)
    {
        string[] candidates = preferred is { Length: > 0 } ? [preferred] : ["docker", "podman"];
        var answers = new List<string>();
        foreach (var runtime in candidates)
        {
            try
            {
                var version = HostBinaries.Run(runtime, ["info", "--format", "{{.ServerVersion}}"], stdin: null, timeout: TimeSpan.FromSeconds(10));
                return (true, $"{runtime} {version.Trim()} answers");
            }
            catch (System.ComponentModel.Win32Exception)
            {
                answers.Add($"{runtime} is not installed");
            }
            catch (InvalidOperationException)
            {
                answers.Add($"{runtime}'s daemon does not answer");
            }
        }

        return (false, string.Join("; ", answers));
    }
}
