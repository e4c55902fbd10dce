using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// JWTs for the services under test, as <c>dotnet user-jwts</c> or an identity provider would issue them: HMAC-signed
/// with a key made for this run (never one from the repository), for the issuer and audience <see cref="Settings"/>
/// gives the services, with a space-separated <c>scope</c> claim. HS256 written out here (a header, claims, an HMAC)
/// so that the benchmarks and the Aspire tests can link this file without an identity library; the services check
/// tokens with ASP.NET Core's JwtBearer.
/// </summary>
public static class TestTokens
{
    public const string Issuer = "voicehive-tests";
    public const string Audience = "voicehive";

    /// <summary>Both scopes: what the harness's clients send unless a test says otherwise.</summary>
    public const string AllScopes = "calls operations";

    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    /// <summary>The <c>Authentication:Schemes:Bearer</c> settings that make the services accept these tokens.</summary>
    public static IReadOnlyDictionary<string, string?> Settings { get; } = SettingsFor(":");

    /// <summary>The same as environment variables, for a service in a process of its own.</summary>
    public static IReadOnlyDictionary<string, string?> EnvironmentVariables { get; } = SettingsFor("__");

    /// <summary>
    /// A token for <paramref name="scopes"/> (space-separated; a JSON array of them with <paramref name="scopesAsArray"/>, as
    /// <c>dotnet user-jwts</c> writes several), valid now unless <paramref name="expired"/>; signed with another key when <paramref name="foreignKey"/>,
    /// or with <paramref name="signingKey"/> for <paramref name="issuer"/>.
    /// </summary>
    public static string Create(string scopes, string subject = "test-client", bool expired = false, bool foreignKey = false, TimeSpan? lifetime = null,
        bool scopesAsArray = false, byte[]? signingKey = null, string issuer = Issuer)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = issuer,
            ["aud"] = Audience,
            ["sub"] = subject,
            ["scope"] = scopesAsArray ? scopes.Split(' ') : scopes,
            ["iat"] = (expired ? now.AddHours(-2) : now).ToUnixTimeSeconds(),
            ["nbf"] = (expired ? now.AddHours(-2) : now.AddMinutes(-1)).ToUnixTimeSeconds(),
            ["exp"] = (expired ? now.AddHours(-1) : now + (lifetime ?? TimeSpan.FromHours(1))).ToUnixTimeSeconds(),
        };
        var unsigned = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = HMACSHA256.HashData(signingKey ?? (foreignKey ? RandomNumberGenerator.GetBytes(32) : Key), Encoding.ASCII.GetBytes(unsigned));
        return unsigned + "." + Base64Url(signature);
    }

    /// <summary>The client with <paramref name="token"/> as its bearer token, or none when null.</summary>
    public static HttpClient WithToken(this HttpClient client, string? token)
    {
        client.DefaultRequestHeaders.Authorization = token is null ? null : new("Bearer", token);
        return client;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Dictionary<string, string?> SettingsFor(string separator) => new()
    {
        [$"Authentication{separator}Schemes{separator}Bearer{separator}ValidIssuer"] = Issuer,
        [$"Authentication{separator}Schemes{separator}Bearer{separator}ValidAudiences{separator}0"] = Audience,
        [$"Authentication{separator}Schemes{separator}Bearer{separator}SigningKeys{separator}0{separator}Issuer"] = Issuer,
        [$"Authentication{separator}Schemes{separator}Bearer{separator}SigningKeys{separator}0{separator}Value"] = Convert.ToBase64String(Key),
    };
}
