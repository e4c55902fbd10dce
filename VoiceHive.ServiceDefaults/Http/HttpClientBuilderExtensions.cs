using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;
using Polly;
using VoiceHive.ServiceDefaults.Http;

namespace Microsoft.Extensions.Hosting;

public static class HttpClientBuilderExtensions
{
    /// <summary>
    /// Adds the resilience pipeline (<see cref="HttpResilienceOptions"/>) to this client, or to every
    /// client when called from <c>ConfigureHttpClientDefaults</c>. Each named client gets its own
    /// pipeline, so one failing dependency opens only its own circuit.
    /// </summary>
    public static IHttpClientBuilder AddDefaultResilienceHandler(this IHttpClientBuilder builder)
    {
        builder.Services.AddOptions<HttpResilienceOptions>()
            .BindConfiguration(HttpResilienceOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ResiliencePipelines>();
        builder.Services.Configure<HttpClientFactoryOptions>(builder.Name, options =>
            options.HttpMessageHandlerBuilderActions.Add(handlers => handlers.AdditionalHandlers.Add(
                new ResilienceHandler(handlers.Services.GetRequiredService<ResiliencePipelines>().For(handlers.Name ?? "")))));
        return builder;
    }

    /// <summary>Resolves <c>http://name</c> and <c>https+http://name</c> addresses from <c>services:name:…</c> configuration.</summary>
    public static IHttpClientBuilder AddConfigurationServiceDiscovery(this IHttpClientBuilder builder)
    {
        builder.Services.AddSingleton<ServiceEndpointResolver>();
        return builder.AddHttpMessageHandler(sp => new ServiceEndpointHandler(sp.GetRequiredService<ServiceEndpointResolver>()));
    }

    private sealed class ResiliencePipelines(IOptions<HttpResilienceOptions> options, IServiceProvider services)
    {
        private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _pipelines = new(StringComparer.Ordinal);

        public ResiliencePipeline<HttpResponseMessage> For(string clientName) => _pipelines.GetOrAdd(
            clientName,
            _ => ResilienceHandler.BuildPipeline(options.Value, services.GetService<TimeProvider>() ?? TimeProvider.System));
    }
}
