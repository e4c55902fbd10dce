using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using VoiceHive.Orchestrator.Calls;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// A caller's phone number never leaves the request that carries it: what is stored is a keyed hash
/// (to recognise a returning caller without keeping the number) and a mask for people reading a
/// call record. Neither is ever put in a log, a span or a metric label.
/// </summary>
public sealed class CallerPrivacy(IOptions<CallsOptions> options)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.CallerHashKey);

    /// <summary>E.164: a plus sign, a country code that does not start with 0, 7 to 15 digits in all.</summary>
    public const string E164Pattern = @"^\+[1-9][0-9]{6,14}$";

    public string Hash(string number) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(number)));

    /// <summary>The country code's first digits and the last two digits: <c>+44*********12</c>.</summary>
    public static string Mask(string number) =>
        number.Length <= 5 ? new string('*', number.Length) : number[..3] + new string('*', number.Length - 5) + number[^2..];
}
