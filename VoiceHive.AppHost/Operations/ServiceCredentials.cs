using System.Net.Http.Headers;

namespace VoiceHive.AppHost.Operations;

/// <summary>
/// The tokens the AppHost hands out, signed with the services' signing key (the <c>jwt-signing-key</c> parameter): an
/// operator's for its dashboard commands, issued for each command and short-lived; the call channel's for the traffic
/// resource.
/// </summary>
internal sealed class ServiceCredentials(IResourceBuilder<ParameterResource> signingKey)
{
    public IResourceBuilder<ParameterResource> SigningKey { get; } = signingKey;

    public async Task<AuthenticationHeaderValue> OperatorAsync(CancellationToken cancellationToken) =>
        new("Bearer", await IssueAsync(ServiceTokens.Operations, "apphost-dashboard", TimeSpan.FromMinutes(5), cancellationToken));

    public async Task<string> IssueAsync(string scope, string subject, TimeSpan lifetime, CancellationToken cancellationToken) =>
        ServiceTokens.Issue(await SigningKey.Resource.GetValueAsync(cancellationToken) ?? "", scope, subject, lifetime);
}
