using System.Net.Http.Headers;

namespace VoiceHive.AppHost.Operations;

/// <summary>The credentials the AppHost's commands call the services' operator endpoints with.</summary>
internal sealed class OperatorCredentials(IResourceBuilder<ParameterResource> simulatorAdminToken)
{
    public async Task<AuthenticationHeaderValue> OperatorAsync(CancellationToken cancellationToken) =>
        new("Bearer", await simulatorAdminToken.Resource.GetValueAsync(cancellationToken));
}
