using System.Text.Json;

var builder = DistributedApplication.CreateBuilder(args);

// Secrets: from user secrets or Parameters__* in development, from azd's prompts or the environment when published.
var alertWebhookToken = builder.AddParameter("alert-webhook-token", secret: true);
var callerHashKey = builder.AddParameter("caller-hash-key", secret: true);

// Publishing (docs/deploy.md): one compute environment. azd runs the AppHost with the manifest publisher and gets
// Azure Container Apps; `aspire publish` and `aspire deploy` get Docker Compose, or Container Apps with
// Deployment__Target=azure.
if (builder.ExecutionContext.IsPublishMode)
{
    if (builder.ExecutionContext.PublisherName == "manifest"
        || string.Equals(builder.Configuration["Deployment:Target"], "azure", StringComparison.OrdinalIgnoreCase))
    {
        builder.AddAzureContainerAppEnvironment("aca").WithAzdResourceNaming();
    }
    else
    {
        builder.AddDockerComposeEnvironment("compose");
    }
}

// Redis keeps the event stream between the relay and the worker, so it runs with the append-only file as well as
// snapshots. Aspire starts it as `/bin/sh -c "redis-server --requirepass $REDIS_PASSWORD …"` (one argument) or, in
// some versions' run mode, as separate arguments: the flag goes wherever the command is.
var redis = builder.AddRedis("redis").WithImageTag("7.4.1").WithDataVolume().WithPersistence(TimeSpan.FromSeconds(10), 1)
    .WithArgs(context =>
    {
        for (var i = 0; i < context.Args.Count; i++)
        {
            if (context.Args[i] is string command && command.StartsWith("redis-server ", StringComparison.Ordinal))
            {
                context.Args[i] = command + " --appendonly yes";
                return;
            }
        }

        context.Args.Add("--appendonly");
        context.Args.Add("yes");
    });
var postgres = builder.AddPostgres("postgres").WithImageTag("17.2").WithDataVolume();
var database = postgres.AddDatabase("voicehivedb");

var orchestrator = builder.AddProject<Projects.VoiceHive_Orchestrator>("orchestrator")
    .WithReplicas(2)
    .WithReference(database).WaitFor(database)
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("ALERT_WEBHOOK_TOKEN", alertWebhookToken)
    .WithEnvironment("Calls__CallerHashKey", callerHashKey)
    .WithHttpHealthCheck("/health");

var worker = builder.AddProject<Projects.VoiceHive_Worker>("worker")
    .WithReference(database).WaitFor(database)
    .WithReference(redis).WaitFor(redis)
    .WithHttpHealthCheck("/health");

// Jaeger and the monitoring stack run beside the services in run mode, where containers reach the services on the
// host. A published target carries the application; its monitoring is built from monitoring/ as docs/deploy.md says.
var targets = Path.Combine(builder.AppHostDirectory, "obj", "prometheus-targets");
var alertmanagerConfig = Path.Combine(builder.AppHostDirectory, "obj", "alertmanager");
if (builder.ExecutionContext.IsRunMode)
{
    // Jaeger receives every service's traces over OTLP (OTLP_ENDPOINT), beside the Aspire dashboard.
    var jaeger = builder.AddContainer("jaeger", "jaegertracing/all-in-one", "1.62.0")
        .WithEnvironment("COLLECTOR_OTLP_ENABLED", "true")
        .WithHttpEndpoint(targetPort: 16686, name: "http")
        .WithEndpoint(targetPort: 4317, name: "otlp", scheme: "http");
    foreach (var service in (IResourceBuilder<ProjectResource>[])[orchestrator, worker])
    {
        service.WithEnvironment("OTLP_ENDPOINT", jaeger.GetEndpoint("otlp"))
            .WithEnvironment("Monitoring__AdvertisedHost", "host.docker.internal");
    }

    var grafanaAdminPassword = builder.AddParameter("grafana-admin-password", secret: true);
    var slackWebhookUrl = builder.AddParameter("slack-webhook-url", secret: true);
    var pagerDutyIntegrationKey = builder.AddParameter("pagerduty-integration-key", secret: true);

    // Exporters for Prometheus.
    var redisExporter = builder.AddContainer("redis-exporter", "oliver006/redis_exporter", "v1.66.0")
        .WithEnvironment("REDIS_ADDR", redis.Resource.PrimaryEndpoint.Property(EndpointProperty.HostAndPort))
        .WithHttpEndpoint(targetPort: 9121, name: "http")
        .WaitFor(redis);
    var postgresExporter = builder.AddContainer("postgres-exporter", "quay.io/prometheuscommunity/postgres-exporter", "v0.16.0")
        .WithEnvironment("DATA_SOURCE_URI", postgres.Resource.PrimaryEndpoint.Property(EndpointProperty.HostAndPort) + "/postgres?sslmode=disable")
        .WithEnvironment("DATA_SOURCE_USER", "postgres")
        .WithEnvironment("DATA_SOURCE_PASS", postgres.Resource.PasswordParameter)
        .WithHttpEndpoint(targetPort: 9187, name: "http")
        .WaitFor(postgres);

    // Prometheus reads monitoring/prometheus read-only, and the targets this AppHost writes once ports are known.
    // The services run on the host: containers reach them as host.docker.internal (Docker Desktop and Podman on
    // macOS and Windows define it; on Linux the host-gateway mapping below does). Each replica announces its own
    // host.docker.internal:<port> (Monitoring__AdvertisedHost), the orchestrator lists them at
    // /monitoring/scrape-targets, and this AppHost copies that list into the services' file_sd files, so
    // Prometheus scrapes every replica rather than Aspire's proxy in front of them.
    Directory.CreateDirectory(targets);
    Directory.CreateDirectory(alertmanagerConfig);
    var alertmanager = builder.AddContainer("alertmanager", "prom/alertmanager", "v0.27.0")
        .WithBindMount(alertmanagerConfig, "/etc/alertmanager", isReadOnly: true)
        .WithVolume("alertmanager-data", "/alertmanager")
        .WithArgs("--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager")
        .WithContainerRuntimeArgs("--add-host=host.docker.internal:host-gateway")
        .WithHttpEndpoint(targetPort: 9093, name: "http");
    var prometheus = builder.AddContainer("prometheus", "prom/prometheus", "v2.55.1")
        .WithBindMount("../monitoring/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml", isReadOnly: true)
        .WithBindMount("../monitoring/prometheus/rules", "/etc/prometheus/rules", isReadOnly: true)
        .WithBindMount(targets, "/etc/prometheus/targets", isReadOnly: true)
        .WithVolume("prometheus-data", "/prometheus")
        .WithArgs("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=10GB", "--web.enable-lifecycle")
        .WithContainerRuntimeArgs("--add-host=host.docker.internal:host-gateway")
        .WithHttpEndpoint(targetPort: 9090, name: "http")
        .WaitFor(alertmanager);

    builder.AddContainer("grafana", "grafana/grafana", "11.4.0")
        .WithBindMount("../monitoring/grafana/provisioning", "/etc/grafana/provisioning", isReadOnly: true)
        .WithBindMount("../monitoring/grafana/dashboards", "/var/lib/grafana/dashboards", isReadOnly: true)
        .WithVolume("grafana-data", "/var/lib/grafana")
        .WithEnvironment("GF_SECURITY_ADMIN_PASSWORD", grafanaAdminPassword)
        .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "false")
        .WithEnvironment("GF_USERS_ALLOW_SIGN_UP", "false")
        .WithHttpEndpoint(targetPort: 3000, name: "http")
        .WaitFor(prometheus);

    builder.Eventing.Subscribe<BeforeStartEvent>((_, _) =>
    {
        // Placeholders, so Prometheus starts with every file_sd file present; replaced once the ports are allocated.
        foreach (var job in (string[])["orchestrator", "worker", "alertmanager", "redis-exporter", "postgres-exporter"])
        {
            File.WriteAllText(Path.Combine(targets, job + ".json"), "[]");
        }

        return Task.CompletedTask;
    });
    builder.Eventing.Subscribe<ResourceEndpointsAllocatedEvent>(orchestrator.Resource, (_, _) =>
    {
        var list = new Uri(new Uri(orchestrator.GetEndpoint("http").Url), "/monitoring/scrape-targets");
        _ = Task.Run(() => CopyScrapeTargetsAsync(list));
        return Task.CompletedTask;
    });
    // Alertmanager gets monitoring/alertmanager with this mode's webhook address and its secrets as files.
    builder.Eventing.Subscribe<ResourceEndpointsAllocatedEvent>(orchestrator.Resource, async (_, cancellationToken) =>
    {
        var source = Path.Combine(builder.AppHostDirectory, "..", "monitoring", "alertmanager");
        var webhook = $"http://host.docker.internal:{orchestrator.GetEndpoint("http").Port}/monitoring/alerts/webhook";
        File.WriteAllText(Path.Combine(alertmanagerConfig, "alertmanager.yml"),
            File.ReadAllText(Path.Combine(source, "alertmanager.yml")).Replace("http://orchestrator:8000/monitoring/alerts/webhook", webhook, StringComparison.Ordinal));
        var templates = Directory.CreateDirectory(Path.Combine(alertmanagerConfig, "templates")).FullName;
        foreach (var template in Directory.GetFiles(Path.Combine(source, "templates")))
        {
            File.Copy(template, Path.Combine(templates, Path.GetFileName(template)), overwrite: true);
        }

        var secrets = Directory.CreateDirectory(Path.Combine(alertmanagerConfig, "secrets")).FullName;
        File.WriteAllText(Path.Combine(secrets, "alert_webhook_token"), await alertWebhookToken.Resource.GetValueAsync(cancellationToken));
        File.WriteAllText(Path.Combine(secrets, "slack_webhook_url"), await slackWebhookUrl.Resource.GetValueAsync(cancellationToken));
        File.WriteAllText(Path.Combine(secrets, "pagerduty_routing_key"), await pagerDutyIntegrationKey.Resource.GetValueAsync(cancellationToken));
    });
    WriteTargetsWhenAllocated(alertmanager, "alertmanager", host: "host.docker.internal");
    WriteTargetsWhenAllocated(redisExporter, "redis-exporter", host: "host.docker.internal");
    WriteTargetsWhenAllocated(postgresExporter, "postgres-exporter", host: "host.docker.internal");
}

builder.Build().Run();

// Keeps targets/orchestrator.json and targets/worker.json equal to the replicas the orchestrator lists.
async Task CopyScrapeTargetsAsync(Uri list)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    while (true)
    {
        try
        {
            using var groups = JsonDocument.Parse(await http.GetStringAsync(list));
            foreach (var service in (string[])["orchestrator", "worker"])
            {
                var targetsOfService = groups.RootElement.EnumerateArray()
                    .Where(g => g.GetProperty("labels").GetProperty("voicehive_service").GetString() == service)
                    .SelectMany(g => g.GetProperty("targets").EnumerateArray().Select(t => t.GetString()))
                    .ToArray();
                File.WriteAllText(Path.Combine(targets, service + ".json"), JsonSerializer.Serialize(new[] { new { targets = targetsOfService } }));
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or IOException)
        {
            // The orchestrator is not up yet, or restarting: keep the last list.
        }

        await Task.Delay(TimeSpan.FromSeconds(5));
    }
}

void WriteTargetsWhenAllocated<T>(IResourceBuilder<T> resource, string job, string host)
    where T : IResourceWithEndpoints =>
    builder.Eventing.Subscribe<ResourceEndpointsAllocatedEvent>(resource.Resource, (_, _) =>
    {
        var endpoint = resource.GetEndpoint("http");
        File.WriteAllText(Path.Combine(targets, job + ".json"),
            JsonSerializer.Serialize(new[] { new { targets = new[] { $"{host}:{endpoint.Port}" } } }));
        return Task.CompletedTask;
    });
