namespace VoiceHive.AppHost.Infrastructure;

/// <summary>
/// The Prometheus exporters of the VoiceHive guide, in either form: endpoint <c>http</c>, healthy when their
/// <c>/metrics</c> answers. Containers use the upstream images at pinned tags; host processes the Debian packages.
/// </summary>
internal static class Exporters
{
    public static IResourceBuilder<IResourceWithEndpoints> AddRedisExporter(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, IResourceBuilder<IResourceWithConnectionString> redis)
    {
        var (endpoint, password) = RedisServer.Access(redis.Resource);
        return form.Containers
            ? Configure(builder.AddContainer(name, "oliver006/redis_exporter", "v1.66.0").WithHttpEndpoint(targetPort: 9121, name: HostProcess.HttpEndpoint))
            : Configure(builder.AddHostProgram(name, form, "prometheus-redis-exporter", "prometheus-redis-exporter", "redis_exporter").WithListenAddress("-web.listen-address"));

        IResourceBuilder<IResourceWithEndpoints> Configure<T>(IResourceBuilder<T> exporter)
            where T : class, IResourceWithEnvironment, IResourceWithWaitSupport, IResourceWithEndpoints =>
            exporter
                .WithEnvironment("REDIS_ADDR", ReferenceExpression.Create($"redis://{endpoint.Property(EndpointProperty.HostAndPort)}"))
                .WithEnvironment("REDIS_PASSWORD", password)
                .WaitFor(redis)
                .WithHttpHealthCheck("/metrics", endpointName: HostProcess.HttpEndpoint);
    }

    public static IResourceBuilder<IResourceWithEndpoints> AddPostgresExporter(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, IResourceBuilder<IResourceWithConnectionString> postgres)
    {
        var (endpoint, user, password) = PostgresServer.Access(postgres.Resource);
        return form.Containers
            ? Configure(builder.AddContainer(name, "quay.io/prometheuscommunity/postgres-exporter", "v0.16.0").WithHttpEndpoint(targetPort: 9187, name: HostProcess.HttpEndpoint))
            : Configure(builder.AddHostProgram(name, form, "prometheus-postgres-exporter", "prometheus-postgres-exporter", "postgres_exporter").WithListenAddress("--web.listen-address"));

        IResourceBuilder<IResourceWithEndpoints> Configure<T>(IResourceBuilder<T> exporter)
            where T : class, IResourceWithEnvironment, IResourceWithWaitSupport, IResourceWithEndpoints =>
            exporter
                .WithEnvironment("DATA_SOURCE_URI", ReferenceExpression.Create($"{endpoint.Property(EndpointProperty.HostAndPort)}/postgres?sslmode=disable"))
                .WithEnvironment("DATA_SOURCE_USER", user)
                .WithEnvironment("DATA_SOURCE_PASS", password)
                .WaitFor(postgres)
                .WithHttpHealthCheck("/metrics", endpointName: HostProcess.HttpEndpoint);
    }

    /// <summary>
    /// The machine's own metrics (CPU, memory, disks): the host's in the host-process form; in the container form the
    /// Linux host's file systems (its root mounted read-only) under Docker Engine on Linux, and the container VM's where
    /// Docker runs in one (Docker Desktop on macOS or Windows cannot mount the host's root).
    /// </summary>
    public static IResourceBuilder<IResourceWithEndpoints> AddNodeExporter(this IDistributedApplicationBuilder builder, string name, InfrastructureForm form) =>
        form.Containers
            ? builder.AddContainer(name, "quay.io/prometheus/node-exporter", "v1.8.2")
                .WithHttpEndpoint(targetPort: 9100, name: HostProcess.HttpEndpoint)
                .WithHostRootFileSystem()
                .WithHttpHealthCheck("/metrics", endpointName: HostProcess.HttpEndpoint)
            : builder.AddHostProgram(name, form, "prometheus-node-exporter", "prometheus-node-exporter", "node_exporter")
                .WithListenAddress("--web.listen-address")
                .WithHttpHealthCheck("/metrics", endpointName: HostProcess.HttpEndpoint);

    /// <summary>Probes each service's /health from outside, with monitoring/blackbox/blackbox.yml.</summary>
    public static IResourceBuilder<IResourceWithEndpoints> AddBlackboxExporter(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, string monitoring)
    {
        var configuration = Path.Combine(monitoring, "blackbox", "blackbox.yml");
        return form.Containers
            ? builder.AddContainer(name, "quay.io/prometheus/blackbox-exporter", "v0.25.0")
                .WithHttpEndpoint(targetPort: 9115, name: HostProcess.HttpEndpoint)
                .WithBindMount(configuration, "/etc/blackbox_exporter/config.yml", isReadOnly: true)
                .WithArgs("--config.file=/etc/blackbox_exporter/config.yml")
                .WithContainerRuntimeArgs("--add-host=host.docker.internal:host-gateway")
                .WithHttpHealthCheck("/-/healthy", endpointName: HostProcess.HttpEndpoint)
            : builder.AddHostProgram(name, form, "prometheus-blackbox-exporter", "prometheus-blackbox-exporter", "blackbox_exporter")
                .WithArgs($"--config.file={configuration}")
                .WithListenAddress("--web.listen-address")
                .WithHttpHealthCheck("/-/healthy", endpointName: HostProcess.HttpEndpoint);
    }

    private static IResourceBuilder<ContainerResource> WithHostRootFileSystem(this IResourceBuilder<ContainerResource> exporter) =>
        OperatingSystem.IsLinux() ? exporter.WithBindMount("/", "/host", isReadOnly: true).WithArgs("--path.rootfs=/host") : exporter;
}
