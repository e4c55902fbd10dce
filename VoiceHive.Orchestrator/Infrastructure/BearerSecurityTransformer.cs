using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using VoiceHive.Orchestrator.Alerts;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// The OpenAPI document declares how to authenticate: the JWT bearer scheme, and on each operation the scope its
/// policy needs (<c>calls</c> or <c>operations</c>; OpenAPI 3.1 lets a bearer requirement name them). The webhook's own
/// token is the <c>AlertmanagerToken</c> scheme, the scrape token the <c>ScrapeToken</c> one.
/// </summary>
internal sealed class BearerSecurityTransformer : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public const string JwtScheme = "Bearer";
    public const string WebhookScheme = AlertsApi.WebhookScheme;
    public const string ScrapeScheme = AuthenticationExtensions.ScrapeScheme;

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[JwtScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT whose space-separated scope claim holds 'calls' (the call channel: start, turn, end) and/or " +
                "'operations' (operators: a call's transcript, alerts, the SLA report, the simulator).",
        };
        document.Components.SecuritySchemes[WebhookScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "Alertmanager's webhook token (ALERT_WEBHOOK_TOKEN).",
        };
        document.Components.SecuritySchemes[ScrapeScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "Prometheus's scrape token (Monitoring:ScrapeToken); where it is not set, the scrape endpoints are open.",
        };
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var policies = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().ToList();
        var scopes = policies.Where(policy => policy is AuthenticationExtensions.CallsPolicy or AuthenticationExtensions.OperationsPolicy)
            .Distinct().ToList();
        var (scheme, required) = policies.Contains(AlertsApi.WebhookPolicy) ? (WebhookScheme, new List<string>())
            : policies.Contains(AuthenticationExtensions.ScrapePolicy) ? (ScrapeScheme, new List<string>())
            : (JwtScheme, scopes);
        if (scheme == JwtScheme && scopes.Count == 0)
        {
            return Task.CompletedTask;
        }

        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = required });
        return Task.CompletedTask;
    }
}
