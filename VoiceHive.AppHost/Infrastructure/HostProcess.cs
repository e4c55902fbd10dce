namespace VoiceHive.AppHost.Infrastructure;

/// <summary>How a Debian package's server becomes an Aspire executable resource in the host-process form.</summary>
internal static class HostProcess
{
    /// <summary>
    /// The connection string of <paramref name="resource"/> for a health check registered before it exists: kept when
    /// Aspire announces it (as Aspire's own Redis and PostgreSQL integrations do), and until then an error.
    /// </summary>
    public static Func<string> ConnectionStringOnceAvailable(this IDistributedApplicationBuilder builder, IResourceWithConnectionString resource)
    {
        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(resource, async (_, cancellationToken) =>
            connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken));
        return () => connectionString ?? throw new InvalidOperationException($"{resource.Name}'s connection string is not available yet.");
    }

    public const string HttpEndpoint = "http";

    /// <summary>
    /// The program (the first of <paramref name="programs"/> found; otherwise the resource fails to start and says
    /// which package to install) with an HTTP endpoint whose port Aspire allocates, working in its state directory.
    /// </summary>
    public static IResourceBuilder<ExecutableResource> AddHostProgram(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, string package, params string[] programs)
    {
        var state = form.StateOf(name);
        Directory.CreateDirectory(state);
        var program = HostBinaries.Find(programs);
        var resource = builder.AddExecutable(name, program ?? programs[0], state)
            .WithHttpEndpoint(name: HttpEndpoint);
        if (program is null)
        {
            resource.OnBeforeResourceStarted((_, _, _) => throw new InvalidOperationException(
                $"{programs[0]} is not installed: install the Debian package '{package}' (eng/deps.sh does), or run with containers."));
        }

        return resource;
    }

    /// <summary>Passes a server of the Prometheus ecosystem its listen address: loopback, and the port Aspire allocated for it.</summary>
    public static IResourceBuilder<ExecutableResource> WithListenAddress(this IResourceBuilder<ExecutableResource> resource, string flag) =>
        resource.WithArgs(context => context.Args.Add(
            ReferenceExpression.Create($"{flag}=127.0.0.1:{resource.GetEndpoint(HttpEndpoint).Property(EndpointProperty.TargetPort)}")));
}
