using Microsoft.Extensions.Configuration;

namespace VoiceHive.ServiceDefaults.Http;

/// <summary>
/// Resolves logical service addresses the way Aspire injects them: <c>http://pms</c> becomes the
/// value of <c>services:pms:http:0</c>; <c>https+http://pms</c> prefers <c>services:pms:https:0</c>
/// and falls back to <c>http:0</c>. Stand-in for Microsoft.Extensions.ServiceDiscovery's
/// configuration provider, which does not restore here and would replace this file.
/// </summary>
public sealed class ServiceEndpointResolver(IConfiguration configuration)
{
    /// <summary>The concrete URI for <paramref name="uri"/>, or the URI itself when it names no configured service.</summary>
    public Uri Resolve(Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            return uri;
        }

        string[] schemes = uri.Scheme switch
        {
            "https+http" => ["https", "http"],
            "http+https" => ["http", "https"],
            "http" => ["http"],
            "https" => ["https"],
            _ => [],
        };
        foreach (var scheme in schemes)
        {
            var configured = configuration[$"services:{uri.Host}:{scheme}:0"];
            if (string.IsNullOrWhiteSpace(configured))
            {
                continue;
            }

            if (!Uri.TryCreate(configured, UriKind.Absolute, out var endpoint))
            {
                throw new InvalidOperationException($"services:{uri.Host}:{scheme}:0 must be an absolute URI, not '{configured}'.");
            }

            var builder = new UriBuilder(uri)
            {
                Scheme = endpoint.Scheme,
                Host = endpoint.Host,
                Port = endpoint.Port,
                Path = endpoint.AbsolutePath.TrimEnd('/') + uri.AbsolutePath,
            };
            return builder.Uri;
        }

        // A composite scheme can only mean service discovery; so can a service that configuration declares
        // without the endpoint asked for. A plain http://host that configuration does not name is left to DNS
        // (as in Docker Compose or Kubernetes).
        if (schemes.Length > 1 || (schemes.Length == 1 && IsConfigured(uri.Host)))
        {
            throw new InvalidOperationException(
                $"No endpoint is configured for service '{uri.Host}': set services:{uri.Host}:{schemes[0]}:0 (environment variable services__{uri.Host}__{schemes[0]}__0).");
        }

        return uri;
    }

    /// <summary>Whether configuration names the service at all (<c>services:name</c>).</summary>
    public bool IsConfigured(string serviceName) => configuration.GetSection($"services:{serviceName}").Exists();
}

/// <summary>Rewrites each request's URI through <see cref="ServiceEndpointResolver"/>.</summary>
internal sealed class ServiceEndpointHandler(ServiceEndpointResolver resolver) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri)
        {
            request.RequestUri = resolver.Resolve(uri);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
