using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VoiceHive.AppHost;

/// <summary>
/// Tokens for the services, signed with their signing key as <c>dotnet user-jwts</c> or an identity provider would
/// sign them: issuer <see cref="ServiceEnvironment.TokenIssuer"/>, audience <see cref="ServiceEnvironment.TokenAudience"/>,
/// and the scopes in a space-separated <c>scope</c> claim.
/// </summary>
public static class ServiceTokens
{
    /// <summary>The call channel's scope: start a call, add a turn, end it.</summary>
    public const string Calls = "calls";

    /// <summary>The operators' scope: transcripts, alerts, the SLA report, dead letters, the PMS simulator.</summary>
    public const string Operations = "operations";

    public static string Issue(string signingKey, string scope, string subject, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = ServiceEnvironment.TokenIssuer,
            Audience = ServiceEnvironment.TokenAudience,
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["scope"] = scope },
            IssuedAt = now,
            NotBefore = now.AddMinutes(-1),
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}
