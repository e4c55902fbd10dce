using System.Security.Cryptography;
using System.Text;

namespace VoiceHive.ServiceDefaults;

/// <summary>A shared-secret bearer token (the alert webhook's, the scrape endpoints').</summary>
public static class BearerToken
{
    /// <summary>
    /// Whether an Authorization header carries <paramref name="expected"/> as its bearer token, compared in
    /// constant time (hashed first, so the lengths leak nothing either). No expected token means no access.
    /// </summary>
    public static bool Matches(string authorization, string? expected)
    {
        const string scheme = "Bearer ";
        if (string.IsNullOrEmpty(expected) || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(presented), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }
}
