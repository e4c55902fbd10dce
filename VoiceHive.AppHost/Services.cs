using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VoiceHive.AppHost.Infrastructure;
using VoiceHive.AppHost.Operations;

namespace VoiceHive.AppHost;

/// <summary>How the AppHost runs each VoiceHive service, and the secrets it hands them.</summary>
internal static class Services
{
    /// <summary>
    /// A VoiceHive project on an HTTP port Aspire allocates, healthy when its <c>/health</c> answers 200. In run mode it
    /// runs in the AppHost's environment (Development under <c>dotnet run</c>) and announces its own address so that
    /// Prometheus scrapes every replica on its own (in the container form it listens on every interface for that).
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
            if (form.Containers)
            {
                // Prometheus, in a container, scrapes each replica at the address it announces on the Docker host, which
                // a loopback listener would refuse. Every endpoint but /health and /alive asks for a token.
                service.WithEndpoint("http", endpoint => endpoint.TargetHost = "0.0.0.0");
            }
        }

        return service.WithHttpHealthCheck("/health", endpointName: "http");
    }

    /// <summary>A secret the AppHost generates on first run and keeps in its user secrets (or <c>Parameters__name</c>); azd generates it when deploying.</summary>
    public static IResourceBuilder<ParameterResource> AddSecret(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

    /// <summary>
    /// The key the services check tokens with and the AppHost signs them with: base64, 32 bytes or more (44 letters and
    /// digits are valid base64 for 33 bytes). A value given that is not is refused at start, in one line.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddSigningKey(this IDistributedApplicationBuilder builder, string name)
    {
        var key = builder.AddParameter(name, new GenerateParameterDefault { MinLength = 44, Special = false }, secret: true, persist: true);
        builder.Eventing.Subscribe<BeforeStartEvent>(async (_, cancellationToken) =>
        {
            if (!IsSigningKey(await key.Resource.GetValueAsync(cancellationToken)))
            {
                throw new AppHostConfigurationException(
                    $"Parameter {name} must be base64 of 32 bytes or more (e.g. `openssl rand -base64 32`): the services could not check tokens with it.");
            }
        });
        return key;
    }

    internal static bool IsSigningKey(string? value)
    {
        var bytes = new byte[((value?.Length ?? 0) * 3 / 4) + 3];
        return value is { Length: > 0 } && Convert.TryFromBase64String(value, bytes, out var length) && length >= 32;
    }

    /// <summary>What every service gets (<see cref="ServiceEnvironment.Common{T}"/>): tokens signed with the AppHost's key accepted, the scrape token asked for.</summary>
    public static IResourceBuilder<ProjectResource> WithServiceTokens(this IResourceBuilder<ProjectResource> service, ServiceCredentials credentials,
        IResourceBuilder<ParameterResource> scrapeToken) =>
        service.WithServiceEnvironment(ServiceEnvironment.Common<object>(credentials.SigningKey, scrapeToken, text => text));

    /// <summary>Settings from <see cref="ServiceEnvironment"/>: parameters stay parameters (the dashboard masks secret ones), text stays text.</summary>
    public static IResourceBuilder<ProjectResource> WithServiceEnvironment(this IResourceBuilder<ProjectResource> service, IEnumerable<(string Name, object Value)> settings)
    {
        foreach (var (name, value) in settings)
        {
            _ = value switch
            {
                IResourceBuilder<ParameterResource> parameter => service.WithEnvironment(name, parameter),
                string text => service.WithEnvironment(name, text),
                _ => throw new ArgumentException($"{name}: a parameter or a text, not {value.GetType().Name}.", nameof(settings)),
            };
        }

        return service;
    }

    /// <summary>
    /// The traffic generator against the orchestrator: 1 call/s from the start, with a call channel's token (scope
    /// <c>calls</c>, valid for a week) and the dashboard commands that start, stop and pace it.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddTraffic<TProject>(this IDistributedApplicationBuilder builder, string name, InfrastructureForm form,
        IResourceBuilder<ProjectResource> orchestrator, ServiceCredentials credentials, IResourceBuilder<ParameterResource> scrapeToken)
        where TProject : IProjectMetadata, new() =>
        builder.AddService<TProject>(name, form)
            .WithReference(orchestrator).WaitFor(orchestrator)
            // Its own API (the commands') takes an operator's token, as the services' operator endpoints do.
            .WithServiceTokens(credentials, scrapeToken)
            .WithEnvironment(async context =>
                context.EnvironmentVariables["Traffic__Token"] = await credentials.IssueAsync(ServiceTokens.Calls, "traffic-generator", TimeSpan.FromDays(7), context.CancellationToken))
            .WithTrafficCommands(credentials);

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
