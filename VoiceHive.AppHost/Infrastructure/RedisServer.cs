using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.AppHost.Monitoring;

namespace VoiceHive.AppHost.Infrastructure;

/// <summary>Redis as a host process (<c>redis-server</c> from the Debian package), with the container form's connection string.</summary>
internal sealed class RedisProcessResource(string name, string command, string workingDirectory, ParameterResource password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public EndpointReference PrimaryEndpoint => new(this, RedisServer.EndpointName);

    public ParameterResource PasswordParameter { get; } = password;

    // Built as Aspire's Redis container builds its own, so that both forms give services the same connection string.
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create(
            $"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)},password={PasswordParameter}{PrimaryEndpoint.GetTlsValue(ReferenceExpression.Create($",ssl=true"), ReferenceExpression.Empty)}");
}

internal static class RedisServer
{
    public const string EndpointName = "tcp";
    public const string ImageTag = "7.4.1";

    /// <summary>
    /// Redis with the append-only file as well as snapshots (it holds the event stream between the outbox relay and
    /// the worker): Aspire's Redis container where containers run, <c>redis-server</c> on loopback otherwise. Either way
    /// endpoint <c>tcp</c>, connection string <c>host:port,password=…</c> and a PING health check.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddRedisServer(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, IResourceBuilder<ParameterResource> password) =>
        form.Containers ? builder.AddRedisContainer(name, password) : builder.AddRedisProcess(name, form, password);

    /// <summary>The endpoint and password an exporter needs, whichever form runs Redis.</summary>
    public static (EndpointReference Endpoint, ParameterResource Password) Access(IResourceWithConnectionString redis) => redis switch
    {
        RedisResource container => (container.PrimaryEndpoint, container.PasswordParameter!),
        RedisProcessResource process => (process.PrimaryEndpoint, process.PasswordParameter),
        _ => throw new ArgumentException($"{redis.Name} is not a Redis server.", nameof(redis)),
    };

    private static IResourceBuilder<RedisResource> AddRedisContainer(this IDistributedApplicationBuilder builder, string name, IResourceBuilder<ParameterResource> password)
    {
        var redis = builder.AddRedis(name, password: password).WithImageTag(ImageTag);
        // Plain TCP as in the host-process form, for redis_exporter and the services' connection strings alike, with
        // or without a trusted development certificate. (Aspire marks opting out as evaluation-only for now.)
#pragma warning disable ASPIRECERTIFICATES001
        redis.WithoutHttpsCertificate();
#pragma warning restore ASPIRECERTIFICATES001
        return redis
            .WithDataVolume()
            .WithPersistence(TimeSpan.FromSeconds(10), 1)
            .WithArgs(context =>
            {
                // Aspire runs redis-server as separate arguments in run mode and as one `sh -c "redis-server …"` argument
                // when publishing: the flag goes wherever the command is.
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
    }

    private static IResourceBuilder<RedisProcessResource> AddRedisProcess(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, IResourceBuilder<ParameterResource> password)
    {
        var state = form.StateOf(name);
        var redis = new RedisProcessResource(name, HostBinaries.Find("redis-server") ?? "redis-server", state, password.Resource);
        var configuration = Path.Combine(state, "redis.conf");

        var connectionString = builder.ConnectionStringOnceAvailable(redis);
        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(_ => connectionString(), name: healthCheck);

        return builder.AddResource(redis)
            .WithEndpoint(name: EndpointName, scheme: "redis")
            .WithIconName("Database")
            // The password goes into a file only this user can read, not onto a command line anyone can list.
            .OnBeforeResourceStarted(async (resource, _, cancellationToken) =>
            {
                Directory.CreateDirectory(state);
                var secret = await resource.PasswordParameter.GetValueAsync(cancellationToken);
                MonitoringConfiguration.WriteSecret(configuration, string.Create(CultureInfo.InvariantCulture, $"""
                    # Written by the VoiceHive AppHost at every start.
                    bind 127.0.0.1 -::1
                    protected-mode yes
                    dir {state}
                    appendonly yes
                    save 10 1
                    requirepass "{secret}"

                    """));
            })
            .WithArgs(context =>
            {
                context.Args.Add(configuration);
                context.Args.Add("--port");
                context.Args.Add(redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithHealthCheck(healthCheck);
    }
}
