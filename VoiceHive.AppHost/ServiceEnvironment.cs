namespace VoiceHive.AppHost;

/// <summary>
/// The settings a VoiceHive service gets beside its connection strings, defined once: the AppHost gives them to the
/// services it runs, and the benchmark runner, which starts the services as processes of its own (Aspire's proxy in
/// front of a service would skew its figures), links this file and gives them to its own.
/// </summary>
public static class ServiceEnvironment
{
    /// <summary>The issuer of the tokens the AppHost (or the benchmark runner) signs with the services' signing key.</summary>
    public const string TokenIssuer = "voicehive-apphost";

    /// <summary>The audience every VoiceHive token is for, as appsettings.Development.json also says for <c>dotnet user-jwts</c>.</summary>
    public const string TokenAudience = "voicehive";

    // Under a key of its own in each list, beside what user secrets give (dotnet user-jwts writes index 0), so that the
    // AppHost's tokens and a developer's user-jwts tokens both work.
    private const string Bearer = "Authentication__Schemes__Bearer__";
    private const string Key = "apphost";

    /// <summary>
    /// Every service's: the JWT bearer settings that accept tokens signed with <paramref name="signingKey"/> (base64,
    /// 32 bytes or more), and the scrape endpoints' token. <paramref name="text"/> turns a fixed value into a
    /// <typeparamref name="T"/>.
    /// </summary>
    public static IReadOnlyList<(string Name, T Value)> Common<T>(T signingKey, T scrapeToken, Func<string, T> text) =>
    [
        ($"{Bearer}ValidIssuers__{Key}", text(TokenIssuer)),
        ($"{Bearer}ValidAudiences__{Key}", text(TokenAudience)),
        ($"{Bearer}SigningKeys__{Key}__Issuer", text(TokenIssuer)),
        ($"{Bearer}SigningKeys__{Key}__Value", signingKey),
        ("Monitoring__ScrapeToken", scrapeToken),
    ];

    /// <summary>The orchestrator's own: the Alertmanager webhook's bearer token and the key callers' numbers are hashed with.</summary>
    public static IReadOnlyList<(string Name, T Value)> Orchestrator<T>(T webhookToken, T callerHashKey) =>
    [
        ("ALERT_WEBHOOK_TOKEN", webhookToken),
        ("Calls__CallerHashKey", callerHashKey),
    ];
}
