using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VoiceHive.ServiceDefaults;

/// <summary>
/// A caller that has no JWT but a shared secret sent as a bearer token: Prometheus on the scrape endpoints
/// (<c>Monitoring:ScrapeToken</c>), Alertmanager on the alert webhook (<c>ALERT_WEBHOOK_TOKEN</c>). An authentication
/// scheme of its own, so that an endpoint's policy names it and no other scheme looks at the token.
/// </summary>
public sealed class SharedTokenOptions : AuthenticationSchemeOptions
{
    /// <summary>The expected token. None means that nobody is let in.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// The <c>sub</c> claim of an authenticated caller, which a rate limiter counts against; none (the default) leaves
    /// it to count each caller's address, as for several Alertmanagers sharing one token.
    /// </summary>
    public string? Subject { get; set; }

    /// <summary>The realm of the 401's <c>WWW-Authenticate: Bearer</c> challenge (RFC 6750), if any.</summary>
    public string? Realm { get; set; }
}

public static class SharedTokenAuthentication
{
    /// <summary>Adds a <see cref="SharedTokenOptions"/> scheme; <paramref name="configure"/> sets its token.</summary>
    public static AuthenticationBuilder AddSharedToken(this AuthenticationBuilder builder, string scheme, Action<SharedTokenOptions> configure) =>
        builder.AddScheme<SharedTokenOptions, SharedTokenHandler>(scheme, configure);

    /// <summary>As <see cref="AddSharedToken(AuthenticationBuilder, string, Action{SharedTokenOptions})"/>, with the token from an options type of the service.</summary>
    public static AuthenticationBuilder AddSharedToken<TDependency>(this AuthenticationBuilder builder, string scheme, Action<SharedTokenOptions, TDependency> configure)
        where TDependency : class
    {
        builder.Services.AddOptions<SharedTokenOptions>(scheme).Configure(configure);
        return builder.AddScheme<SharedTokenOptions, SharedTokenHandler>(scheme, _ => { });
    }

    private sealed class SharedTokenHandler(IOptionsMonitor<SharedTokenOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<SharedTokenOptions>(options, logger, encoder)
    {
        private const string Bearer = "Bearer ";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var authorization = Request.Headers.Authorization.ToString();
            if (!authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            // Compared in constant time, hashed first so that the lengths leak nothing either. No token set: nobody is let in.
            var presented = Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim());
            if (string.IsNullOrEmpty(Options.Token)
                || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(presented), SHA256.HashData(Encoding.UTF8.GetBytes(Options.Token))))
            {
                return Task.FromResult(AuthenticateResult.Fail("The bearer token does not match."));
            }

            var identity = new ClaimsIdentity(Options.Subject is { } subject ? [new Claim("sub", subject)] : [], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = Options.Realm is { } realm ? $"Bearer realm=\"{realm}\"" : "Bearer";
            return Task.CompletedTask;
        }
    }
}
