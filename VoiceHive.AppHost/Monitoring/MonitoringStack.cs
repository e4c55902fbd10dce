using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VoiceHive.AppHost.Infrastructure;

namespace VoiceHive.AppHost.Monitoring;

/// <summary>Settings of the monitoring stack the AppHost runs (section <c>Monitoring</c>).</summary>
/// <param name="Source">The repository's monitoring/ folder.</param>
/// <param name="Fast">
/// <c>Monitoring:FastAlerting</c>: 1 s scrapes, evaluation and grouping, 20 s rate windows and 5 s "for", so that a
/// PMS fault injected from the dashboard fires its alerts within a minute (demonstrations, the end-to-end tests).
/// </param>
/// <param name="PagerDutyUrl"><c>Monitoring:PagerDutyUrl</c>: PagerDuty's Events API when not PagerDuty's own (a test's fake).</param>
internal sealed record MonitoringSettings(string Source, bool Fast, Uri? PagerDutyUrl)
{
    public static MonitoringSettings From(IDistributedApplicationBuilder builder) => new(
        Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "monitoring")),
        builder.Configuration["Monitoring:FastAlerting"] is { Length: > 0 } fast
            ? bool.TryParse(fast, out var on) ? on : throw new AppHostConfigurationException($"Monitoring:FastAlerting must be 'true' or 'false', not '{fast}'.")
            : false,
        builder.Configuration["Monitoring:PagerDutyUrl"] is { Length: > 0 } url
            ? Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new AppHostConfigurationException($"Monitoring:PagerDutyUrl must be an absolute http(s) URL, not '{url}'.")
            : null);
}

/// <summary>What Prometheus scrapes besides itself: every job of monitoring/prometheus/prometheus.yml.</summary>
internal sealed record PrometheusTargets(
    IResourceBuilder<IResourceWithEndpoints> Alertmanager,
    IResourceBuilder<IResourceWithEndpoints> RedisExporter,
    IResourceBuilder<IResourceWithEndpoints> PostgresExporter,
    IResourceBuilder<IResourceWithEndpoints> NodeExporter,
    IResourceBuilder<IResourceWithEndpoints> BlackboxExporter,
    IResourceBuilder<ProjectResource> Orchestrator,
    IResourceBuilder<ProjectResource> Worker);

/// <summary>
/// The secrets Prometheus and Alertmanager read from files: the webhook's token, Slack's and PagerDuty's, the
/// services' scrape token, and the passwords of their own UIs (asked for in the container form only: the host
/// processes listen on loopback).
/// </summary>
internal sealed record MonitoringSecrets(
    IResourceBuilder<ParameterResource> WebhookToken,
    IResourceBuilder<ParameterResource> SlackWebhookUrl,
    IResourceBuilder<ParameterResource> PagerDutyIntegrationKey,
    IResourceBuilder<ParameterResource> ScrapeToken,
    IResourceBuilder<ParameterResource> PrometheusWebPassword,
    IResourceBuilder<ParameterResource> AlertmanagerWebPassword);

/// <summary>
/// Prometheus and Alertmanager from the repository's monitoring/ folder, in either infrastructure form. Each gets a
/// configuration directory of its own under the data directory, derived by <see cref="MonitoringConfiguration"/> at
/// every start: containers mount it read-only, host processes read it in place.
/// </summary>
internal static class MonitoringStack
{
    public const string HttpEndpoint = HostProcess.HttpEndpoint;

    public const string PrometheusUser = "prometheus-admin";
    public const string AlertmanagerUser = "alertmanager-admin";

    /// <summary>Alertmanager, delivering every alert to the orchestrator's webhook and critical ones to PagerDuty, warnings to Slack.</summary>
    public static IResourceBuilder<IResourceWithEndpoints> AddAlertmanager(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, MonitoringSettings settings, IResourceBuilder<ProjectResource> orchestrator, MonitoringSecrets secrets)
    {
        var state = form.StateOf(name);
        var configuration = Path.Combine(state, "config");
        async Task WriteAsync(CancellationToken cancellationToken) =>
            MonitoringConfiguration.WriteAlertmanager(settings.Source, configuration, new AlertmanagerSettings(
                new Uri($"http://{await form.AddressAsSeenByMonitoringAsync(orchestrator.Resource, HttpEndpoint, cancellationToken)}/monitoring/alerts/webhook"),
                await Value(secrets.WebhookToken, cancellationToken),
                await Value(secrets.SlackWebhookUrl, cancellationToken),
                await Value(secrets.PagerDutyIntegrationKey, cancellationToken))
            {
                DirectoryAsSeen = form.Containers ? MonitoringConfiguration.DeployedAlertmanagerDirectory : null,
                PagerDutyUrl = settings.PagerDutyUrl,
                Fast = settings.Fast,
                WebPasswordHash = form.Containers ? await HashAsync(secrets.AlertmanagerWebPassword, cancellationToken) : null,
            });

        IResourceBuilder<IResourceWithEndpoints> alertmanager;
        if (form.Containers)
        {
            var container = builder.AddContainer(name, "prom/alertmanager", "v0.27.0");
            alertmanager = container
                .WithHttpEndpoint(targetPort: 9093, name: HttpEndpoint)
                // Written when the container is created and copied in, owned by the image's user and readable by it
                // alone: the secrets never sit in a directory the container mounts.
                .WithConfigurationFiles(MonitoringConfiguration.DeployedAlertmanagerDirectory, configuration, WriteAsync)
                .WithVolume(VolumeNameGenerator.Generate(container, "data"), "/alertmanager")
                .WithArgs($"--config.file={MonitoringConfiguration.DeployedAlertmanagerDirectory}/alertmanager.yml", "--storage.path=/alertmanager",
                    $"--web.config.file={MonitoringConfiguration.DeployedAlertmanagerDirectory}/web.yml")
                .MonitoringReaches(form, orchestrator);
        }
        else
        {
            alertmanager = builder.AddHostProgram(name, form, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
                .WithArgs($"--config.file={Path.Combine(configuration, "alertmanager.yml")}", $"--storage.path={Path.Combine(state, "data")}",
                    // A single instance: no gossip port to allocate.
                    "--cluster.listen-address=")
                .WithListenAddress("--web.listen-address")
                .OnBeforeResourceStarted((_, _, cancellationToken) => WriteAsync(cancellationToken));
        }

        return alertmanager
            .WithReadyCheck(form, AlertmanagerUser, secrets.AlertmanagerWebPassword)
            .WithUrlForEndpoint(HttpEndpoint, url => url.DisplayText = "Alertmanager");
    }

    /// <summary>Prometheus with the repository's scrape jobs and rules (30 d / 10 GB retention), its file_sd targets kept current by the AppHost.</summary>
    public static IResourceBuilder<IResourceWithEndpoints> AddPrometheus(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, MonitoringSettings settings, PrometheusTargets targets, MonitoringSecrets secrets)
    {
        var state = form.StateOf(name);
        var configuration = Path.Combine(state, "config");
        string[] retention = ["--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=10GB", "--web.enable-lifecycle",
            .. settings.Fast ? ["--rules.alert.resend-delay=1s"] : Array.Empty<string>()];
        async Task WriteAsync(CancellationToken cancellationToken)
        {
            MonitoringConfiguration.WritePrometheus(settings.Source, configuration, new PrometheusSettings(
                await Value(secrets.ScrapeToken, cancellationToken), await Value(secrets.AlertmanagerWebPassword, cancellationToken))
            {
                DirectoryAsSeen = form.Containers ? MonitoringConfiguration.DeployedPrometheusDirectory : null,
                Fast = settings.Fast,
                WebPasswordHash = form.Containers ? await HashAsync(secrets.PrometheusWebPassword, cancellationToken) : null,
            });
            await WriteStaticTargetsAsync(configuration, form, targets, cancellationToken);
        }

        IResourceBuilder<IResourceWithEndpoints> prometheus;
        if (form.Containers)
        {
            // The file_sd targets change while Prometheus runs: their directory (addresses only) is mounted; the rest,
            // secrets included, is copied in when the container is created, readable by the image's user alone.
            var targetFiles = Directory.CreateDirectory(Path.Combine(configuration, MonitoringConfiguration.TargetsDirectory)).FullName;
            var container = builder.AddContainer(name, "prom/prometheus", "v2.55.1");
            prometheus = container
                .WithHttpEndpoint(targetPort: 9090, name: HttpEndpoint)
                .WithConfigurationFiles(MonitoringConfiguration.DeployedPrometheusDirectory, configuration, WriteAsync,
                    except: MonitoringConfiguration.TargetsDirectory)
                .WithBindMount(targetFiles, $"{MonitoringConfiguration.DeployedPrometheusDirectory}/{MonitoringConfiguration.TargetsDirectory}", isReadOnly: true)
                .WithVolume(VolumeNameGenerator.Generate(container, "data"), "/prometheus")
                .WithArgs(["--config.file=/etc/prometheus/prometheus.yml", "--web.config.file=/etc/prometheus/web.yml", "--storage.tsdb.path=/prometheus", .. retention])
                // Each replica of a service is scraped on its own, at the address it announces on the Docker host.
                .WithContainerRuntimeArgs("--add-host=host.docker.internal:host-gateway")
                .MonitoringReaches(form, targets.Orchestrator, targets.Worker);
        }
        else
        {
            prometheus = builder.AddHostProgram(name, form, "prometheus", "prometheus")
                .WithArgs([$"--config.file={Path.Combine(configuration, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(state, "data")}", .. retention])
                .WithListenAddress("--web.listen-address")
                .OnBeforeResourceStarted((_, _, cancellationToken) => WriteAsync(cancellationToken));
        }

        builder.Services.AddHostedService(services => new ScrapeTargetDiscovery(configuration, form, targets, secrets.ScrapeToken,
            services.GetRequiredService<ResourceNotificationService>(), services.GetRequiredService<ResourceLoggerService>().GetLogger(prometheus.Resource)));
        return prometheus
            .WithReadyCheck(form, PrometheusUser, secrets.PrometheusWebPassword)
            .WithUrlForEndpoint(HttpEndpoint, url => url.DisplayText = "Prometheus")
            .WithUrls(context =>
            {
                // Debian builds Prometheus with its classic pages only; the upstream image serves the current ones.
                var pages = form.Containers ? "" : "/classic";
                var endpoint = context.GetEndpoint(HttpEndpoint);
                context.Urls.Add(new() { Url = $"{pages}/targets", Endpoint = endpoint, DisplayText = "Prometheus targets" });
                context.Urls.Add(new() { Url = $"{pages}/alerts", Endpoint = endpoint, DisplayText = "Prometheus alerts" });
            });
    }

    /// <summary>Grafana with the repository's provisioning and dashboards (containers only: there is no Debian package).</summary>
    public static IResourceBuilder<ContainerResource> AddGrafana(this IDistributedApplicationBuilder builder, string name, MonitoringSettings settings,
        IResourceBuilder<ParameterResource> adminPassword, MonitoringSecrets secrets)
    {
        var grafana = builder.AddContainer(name, "grafana/grafana", "11.4.0");
        return grafana
            // The Prometheus data source's password (monitoring/grafana/provisioning reads it from the environment).
            .WithEnvironment("PROMETHEUS_WEB_PASSWORD", secrets.PrometheusWebPassword)
            .WithBindMount(Path.Combine(settings.Source, "grafana", "provisioning"), "/etc/grafana/provisioning", isReadOnly: true)
            .WithBindMount(Path.Combine(settings.Source, "grafana", "dashboards"), "/var/lib/grafana/dashboards", isReadOnly: true)
            .WithVolume(VolumeNameGenerator.Generate(grafana, "data"), "/var/lib/grafana")
            .WithEnvironment("GF_SECURITY_ADMIN_PASSWORD", adminPassword)
            .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "false")
            .WithEnvironment("GF_USERS_ALLOW_SIGN_UP", "false")
            .WithHttpEndpoint(targetPort: 3000, name: HttpEndpoint)
            .WithHttpHealthCheck("/api/health", endpointName: HttpEndpoint)
            .WithUrlForEndpoint(HttpEndpoint, url => url.DisplayText = "Grafana");
    }

    /// <summary>Jaeger, receiving every service's traces over OTLP beside the dashboard (containers only).</summary>
    public static IResourceBuilder<ContainerResource> AddJaeger(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddContainer(name, "jaegertracing/all-in-one", "1.62.0")
            .WithEnvironment("COLLECTOR_OTLP_ENABLED", "true")
            .WithHttpEndpoint(targetPort: 16686, name: HttpEndpoint)
            .WithEndpoint(targetPort: 4317, name: "otlp", scheme: "http")
            .WithHttpHealthCheck("/", endpointName: HttpEndpoint)
            .WithUrlForEndpoint(HttpEndpoint, url => url.DisplayText = "Jaeger");

    /// <summary>The targets that do not change while the AppHost runs: Alertmanager, the exporters and the health probes.</summary>
    private static async Task WriteStaticTargetsAsync(string configuration, InfrastructureForm form, PrometheusTargets targets, CancellationToken cancellationToken)
    {
        async Task<string> Address(IResourceBuilder<IResourceWithEndpoints> resource) =>
            await form.AddressAsSeenByMonitoringAsync(resource.Resource, HttpEndpoint, cancellationToken);

        MonitoringConfiguration.WriteTargets(configuration, "alertmanager", [new([await Address(targets.Alertmanager)])]);
        MonitoringConfiguration.WriteTargets(configuration, "redis-exporter", [new([await Address(targets.RedisExporter)])]);
        MonitoringConfiguration.WriteTargets(configuration, "postgres-exporter", [new([await Address(targets.PostgresExporter)])]);
        MonitoringConfiguration.WriteTargets(configuration, "node-exporter", [new([await Address(targets.NodeExporter)])]);
        var probes = new List<string>();
        foreach (var service in (IResourceBuilder<ProjectResource>[])[targets.Orchestrator, targets.Worker])
        {
            probes.Add($"http://{await Address(service)}/health");
        }

        MonitoringConfiguration.WriteTargets(configuration, "health-probes",
            [new(probes, new Dictionary<string, string> { ["blackbox"] = await Address(targets.BlackboxExporter) })]);
    }

    /// <summary>
    /// Healthy when <c>/-/ready</c> answers 200: through basic auth in the container form (its web.yml asks for a
    /// password), directly on a loopback host process.
    /// </summary>
    private static IResourceBuilder<IResourceWithEndpoints> WithReadyCheck(this IResourceBuilder<IResourceWithEndpoints> resource, InfrastructureForm form,
        string user, IResourceBuilder<ParameterResource> password)
    {
        if (form.HostProcesses)
        {
            return resource.WithHttpHealthCheck("/-/ready", endpointName: HttpEndpoint);
        }

        var key = $"{resource.Resource.Name}_ready_check";
        resource.ApplicationBuilder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration(key, _ => new ReadyWithBasicAuthCheck(resource.GetEndpoint(HttpEndpoint), user, password.Resource), null, null));
        return resource.WithHealthCheck(key);
    }

    /// <summary>The user the Prometheus and Alertmanager images run as (nobody).</summary>
    private const int ImageUser = 65534;

    /// <summary>
    /// Has <paramref name="write"/> write <paramref name="directory"/> when the container is created, and copies it
    /// (but <paramref name="except"/>) to <paramref name="destination"/>, owned by the image's user, for it alone.
    /// </summary>
    private static IResourceBuilder<ContainerResource> WithConfigurationFiles(this IResourceBuilder<ContainerResource> container, string destination,
        string directory, Func<CancellationToken, Task> write, string? except = null) =>
        container.WithContainerFiles(destination, async (_, cancellationToken) =>
            {
                await write(cancellationToken);
                return Entries(directory, except);
            },
            defaultOwner: ImageUser, defaultGroup: ImageUser,
            umask: UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);

    private static List<ContainerFileSystemItem> Entries(string directory, string? except = null) =>
    [
        .. Directory.GetDirectories(directory).Where(d => Path.GetFileName(d) != except)
            .Select(d => new ContainerDirectory { Name = Path.GetFileName(d), Entries = Entries(d) }),
        .. Directory.GetFiles(directory).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(f => new ContainerFile { Name = Path.GetFileName(f), SourcePath = f }),
    ];

    private static async Task<string> HashAsync(IResourceBuilder<ParameterResource> password, CancellationToken cancellationToken) =>
        BCrypt.Net.BCrypt.HashPassword(await Value(password, cancellationToken), workFactor: 10);

    private static async Task<string> Value(IResourceBuilder<ParameterResource> parameter, CancellationToken cancellationToken) =>
        await parameter.Resource.GetValueAsync(cancellationToken) ?? "";
}

/// <summary>Prometheus's or Alertmanager's <c>/-/ready</c>, asked with the user and password of its web.yml.</summary>
internal sealed class ReadyWithBasicAuthCheck(EndpointReference endpoint, string user, ParameterResource password) : IHealthCheck
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint.Url + "/-/ready");
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{await password.GetValueAsync(cancellationToken)}")));
        try
        {
            using var response = await Http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"/-/ready answered {(int)response.StatusCode}");
        }
        catch (HttpRequestException exception)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }
}
