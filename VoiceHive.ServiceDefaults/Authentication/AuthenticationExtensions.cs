using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VoiceHive.ServiceDefaults;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Who may call what, shared by both services: JWT bearer tokens configured the ASP.NET Core way from
/// <c>Authentication:Schemes:Bearer</c> (<c>ValidIssuer</c>, <c>ValidAudiences</c>, <c>SigningKeys</c> as
/// <c>dotnet user-jwts</c> writes them, or an <c>Authority</c>), authorization by the token's <c>scope</c> claim
/// (<see cref="CallsPolicy"/>, <see cref="OperationsPolicy"/>), the scrape endpoints' own bearer token
/// (<c>Monitoring:ScrapeToken</c>, a <see cref="SharedTokenOptions"/> scheme; each policy names its scheme), forwarded headers from configured proxies, HSTS outside Development, and
/// 401/403 answered as problem+json (<see cref="ProblemResponses"/> names them). On in every environment; outside Development the service does not start
/// without an issuer, an audience and a way to check signatures, nor without a scrape token.
/// </summary>
public static class AuthenticationExtensions
{
    /// <summary>The call channel (a telephony gateway): start a call, add a turn, end it. Token scope <c>calls</c>.</summary>
    public const string CallsPolicy = "calls";

    /// <summary>Operators: transcripts, alerts, the SLA report, dead letters, the simulator. Token scope <c>operations</c>.</summary>
    public const string OperationsPolicy = "operations";

    /// <summary>The scrape endpoints: <c>Monitoring:ScrapeToken</c> as a bearer token when it is set, open otherwise.</summary>
    public const string ScrapePolicy = "scrape";

    public const string ScopeClaim = "scope";
    public const string BearerSection = "Authentication:Schemes:Bearer";
    public const string ScrapeTokenSetting = "Monitoring:ScrapeToken";

    /// <summary>The scrape endpoints' authentication scheme (a <see cref="SharedTokenOptions"/> one).</summary>
    public const string ScrapeScheme = "ScrapeToken";

    public static TBuilder AddDefaultAuthentication<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        if (!builder.Environment.IsDevelopment())
        {
            RequireProductionSettings(configuration);
        }

        RefuseTwoKeysForOneIssuer(configuration.GetSection(BearerSection));

        var scrapeToken = configuration[ScrapeTokenSetting];
        // No default scheme to authenticate every request with: each policy names the one its callers use, so a
        // shared token is never tried as a JWT, nor a JWT against a shared token. Challenges and forbids without a
        // policy's scheme (a bare RequireAuthorization()) go to the JWT scheme.
        // JwtBearer binds Authentication:Schemes:Bearer itself; the claims keep the token's own names (sub, scope).
        builder.Services.AddAuthentication(options =>
            {
                options.DefaultChallengeScheme = JwtBearerDefaults.AuthenticationScheme;
                options.DefaultForbidScheme = JwtBearerDefaults.AuthenticationScheme;
            })
            .AddJwtBearer(options => options.MapInboundClaims = false)
            .AddSharedToken(ScrapeScheme, options =>
            {
                options.Token = scrapeToken;
                options.Subject = "scraper";
                options.Realm = "metrics";
            });
        // JwtBearer binds its section once. Rebuilt when the section changes, so that a signing key `dotnet user-jwts create`
        // writes into user secrets while the service runs is honoured without a restart (once the project's user-secrets
        // folder exists: configuration watches no folder that was missing at start).
        builder.Services.AddSingleton<IOptionsChangeTokenSource<JwtBearerOptions>>(
            new ConfigurationChangeTokenSource<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, configuration.GetSection(BearerSection)));
        // A refused shared token is a 401, as a refused JWT is; neither is news at Information (JwtBearer's lines are under
        // Microsoft.AspNetCore, at Warning).
        builder.Logging.AddFilter(typeof(SharedTokenAuthentication).FullName, LogLevel.Warning);
        // Every endpoint states who may call it (a policy, or AllowAnonymous for the probes); one that states nothing,
        // and a path no endpoint serves, asks for an authenticated JWT rather than being open by omission. (The
        // authorization middleware authenticates with the fallback's scheme before it honours AllowAnonymous, so a
        // probe costs the JWT handler a look at an absent header.)
        var authenticatedJwt = new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser().Build();
        builder.Services.AddAuthorizationBuilder()
            .SetDefaultPolicy(authenticatedJwt)
            .SetFallbackPolicy(authenticatedJwt)
            .AddPolicy(CallsPolicy, policy => policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser().RequireAssertion(context => HasScope(context.User, CallsPolicy)))
            .AddPolicy(OperationsPolicy, policy => policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser().RequireAssertion(context => HasScope(context.User, OperationsPolicy)))
            .AddPolicy(ScrapePolicy, policy =>
            {
                if (string.IsNullOrEmpty(scrapeToken))
                {
                    policy.RequireAssertion(_ => true);
                }
                else
                {
                    policy.AddAuthenticationSchemes(ScrapeScheme).RequireAuthenticatedUser();
                }
            });

        builder.Services.Configure<ForwardedHeadersOptions>(options => ConfigureForwardedHeaders(options, configuration.GetSection("ForwardedHeaders")));
        return builder;
    }

    /// <summary>
    /// Forwarded headers (client address and scheme from trusted proxies), HSTS outside Development, authentication
    /// and authorization, in that order. After the exception handler and status-code pages, so that 401 and 403 get
    /// problem+json bodies.
    /// </summary>
    public static WebApplication UseDefaultSecurity(this WebApplication app)
    {
        app.UseForwardedHeaders();
        if (!app.Environment.IsDevelopment())
        {
            app.UseHsts();
        }

        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Whether a <c>scope</c> claim grants <paramref name="scope"/>: one space-separated claim (OAuth 2.0) or one claim per scope (<c>dotnet user-jwts</c>).</summary>
    public static bool HasScope(ClaimsPrincipal user, string scope) =>
        user.FindAll(ScopeClaim).Any(claim => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal));

    /// <summary>The caller a rate limit counts against: the token's subject (or client id), else the client's address.</summary>
    public static string ClientKey(HttpContext context) =>
        context.User.FindFirst("sub")?.Value is { Length: > 0 } subject ? "sub:" + subject
        : context.User.FindFirst("client_id")?.Value is { Length: > 0 } client ? "client:" + client
        : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    private static void RequireProductionSettings(IConfiguration configuration)
    {
        var bearer = configuration.GetSection(BearerSection);
        var missing = new List<string>();
        var authority = bearer["Authority"];
        if (string.IsNullOrWhiteSpace(authority) && string.IsNullOrWhiteSpace(bearer["ValidIssuer"]) && !bearer.GetSection("ValidIssuers").GetChildren().Any())
        {
            missing.Add($"{BearerSection}:ValidIssuer (or Authority)");
        }

        if (string.IsNullOrWhiteSpace(bearer["ValidAudience"]) && !bearer.GetSection("ValidAudiences").GetChildren().Any())
        {
            missing.Add($"{BearerSection}:ValidAudiences");
        }

        if (string.IsNullOrWhiteSpace(authority) && !bearer.GetSection("SigningKeys").GetChildren().Any(key => !string.IsNullOrWhiteSpace(key["Value"])))
        {
            missing.Add($"{BearerSection}:SigningKeys (or Authority)");
        }

        if (string.IsNullOrWhiteSpace(configuration[ScrapeTokenSetting]))
        {
            missing.Add($"{ScrapeTokenSetting} (Prometheus's bearer token for the scrape endpoints)");
        }

        if (missing.Count > 0)
        {
            throw new StartupFailedException(
                $"Outside Development every endpoint but /health and /alive needs a credential, and these settings are not set: {string.Join("; ", missing)}. " +
                "Set them as environment variables (':' becomes '__'); see README.md, Configuration.");
        }
    }

    /// <summary>
    /// ASP.NET Core's JwtBearer takes one signing key per issuer from <c>SigningKeys</c> and, given two, fails every
    /// authenticated request with a 500 (it looks the issuer's key up with SingleOrDefault): refused at start instead.
    /// </summary>
    private static void RefuseTwoKeysForOneIssuer(IConfigurationSection bearer)
    {
        var repeated = bearer.GetSection("SigningKeys").GetChildren()
            .GroupBy(key => key["Issuer"], StringComparer.Ordinal)
            .FirstOrDefault(issuer => issuer.Key is not null && issuer.Count() > 1);
        if (repeated is not null)
        {
            throw new StartupFailedException(
                $"{BearerSection}:SigningKeys has more than one key for the issuer '{repeated.Key}' (entries {string.Join(", ", repeated.Select(key => key.Key))}); " +
                "JWT bearer validation takes one key per issuer, and with two it would fail every request. Keep one entry per issuer.");
        }
    }

    private static void ConfigureForwardedHeaders(ForwardedHeadersOptions options, IConfigurationSection section)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        // Loopback stays trusted (ASP.NET Core's default); every other proxy or network must be named.
        foreach (var proxy in section.GetSection("KnownProxies").GetChildren().Select(child => child.Value).OfType<string>())
        {
            options.KnownProxies.Add(IPAddress.Parse(proxy));
        }

        foreach (var network in section.GetSection("KnownNetworks").GetChildren().Select(child => child.Value).OfType<string>())
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        }

        if (int.TryParse(section["ForwardLimit"], System.Globalization.CultureInfo.InvariantCulture, out var limit))
        {
            options.ForwardLimit = limit;
        }
    }
}
