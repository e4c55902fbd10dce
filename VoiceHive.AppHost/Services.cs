using VoiceHive.AppHost.Infrastructure;

namespace VoiceHive.AppHost;

/// <summary>How the AppHost runs each VoiceHive service, and the secrets it hands them.</summary>
internal static class Services
{
    /// <summary>
    /// A VoiceHive project on an HTTP port Aspire allocates, healthy when its <c>/health</c> answers 200. In run mode it
    /// runs in the AppHost's environment (Development under <c>dotnet run</c>) and announces its own address so that
    /// Prometheus scrapes every replica on its own.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddService<TProject>(this IDistributedApplicationBuilder builder, string name, InfrastructureForm form)
        where TProject : IProjectMetadata, new()
    {
        var service = builder.AddProject<TProject>(name).WithHttpEndpoint(name: "http");
        if (builder.ExecutionContext.IsRunMode)
        {
            service
                .WithEnvironment("ASPNETCORE_ENVIRONMENT", builder.Environment.EnvironmentName)
                .WithEnvironment("Monitoring__AdvertisedHost", form.HostAsSeenByMonitoring);
        }

        return service.WithHttpHealthCheck("/health", endpointName: "http");
    }

    /// <summary>A secret the AppHost generates on first run and keeps in its user secrets (or <c>Parameters__name</c>); azd generates it when deploying.</summary>
    public static IResourceBuilder<ParameterResource> AddSecret(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);

    /// <summary>A parameter from configuration (<c>Parameters:name</c>, user secrets), or <paramref name="fallback"/> when none is given.</summary>
    public static IResourceBuilder<ParameterResource> AddParameterOrDefault(this IDistributedApplicationBuilder builder, string name, string fallback, bool secret) =>
        builder.AddParameter(name, () => builder.Configuration[$"Parameters:{name}"] is { Length: > 0 } configured ? configured : fallback, secret: secret);

    /// <summary>Links to the service's OpenAPI document and its API reference (Scalar, Development only) in the dashboard.</summary>
    public static IResourceBuilder<ProjectResource> WithApiReference(this IResourceBuilder<ProjectResource> service) =>
        service.WithUrls(context =>
        {
            var endpoint = context.GetEndpoint("http");
            context.Urls.Add(new() { Url = "/scalar", Endpoint = endpoint, DisplayText = "API reference" });
            context.Urls.Add(new() { Url = "/openapi/v1.json", Endpoint = endpoint, DisplayText = "OpenAPI document" });
        });
}
