using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.Tests.Infrastructure;
using VoiceHive.Tests.Orchestrator;

namespace VoiceHive.Tests.Services;

/// <summary>
/// Who may call what: every endpoint group refuses a missing, expired or foreign-signed token (401 with
/// WWW-Authenticate) and a token without its scope (403), both problem+json, and serves the right scope; probes stay
/// open; rate limits answer 429 with Retry-After; outside Development a service without its credentials' settings
/// does not start, and says why in one line.
/// </summary>
public sealed class AuthenticationTests(SharedServers servers)
{
    private const string StartBody = """{"hotelId":"grand-plaza","callerNumber":"+447700900123","language":"en"}""";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string, string?, string> Endpoints => new()
    {
        // service, method, path ({call}: a call of the test's), JSON body, the scope that grants it
        { "orchestrator", "POST", "/api/calls", StartBody, "calls" },
        { "orchestrator", "POST", "/api/calls/{call}/turns", """{"utterance":"What time is check-out?"}""", "calls" },
        { "orchestrator", "POST", "/api/calls/{call}/end", """{"outcome":"resolved"}""", "calls" },
        { "orchestrator", "GET", "/api/calls/{call}", null, "operations" },
        { "orchestrator", "GET", "/monitoring/alerts", null, "operations" },
        { "orchestrator", "GET", "/monitoring/sla", null, "operations" },
        { "orchestrator", "GET", "/admin/pms-simulator", null, "operations" },
        { "worker", "GET", "/admin/dead-letters", null, "operations" },
        { "worker", "POST", "/admin/dead-letters/replay", null, "operations" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task EveryGroupRefusesWhatItShouldAndServesItsScope(string service, string method, string path, string? body, string scope)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = await OrchestratorDriver.StartAsync(servers, database: database);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        IServiceApplication app = service == "worker" ? worker : orchestrator;
        using var callClient = orchestrator.CreateClient().WithToken(TestTokens.Create("calls"));
        path = path.Replace("{call}", (await callClient.StartCallAsync()).ToString(), StringComparison.Ordinal);
        var otherScope = scope == "calls" ? "operations" : "calls";

        using var none = await SendAsync(app, method, path, body, token: null);
        using var expired = await SendAsync(app, method, path, body, TestTokens.Create(scope, expired: true));
        using var foreign = await SendAsync(app, method, path, body, TestTokens.Create(scope, foreignKey: true));
        using var wrongScope = await SendAsync(app, method, path, body, TestTokens.Create(otherScope));
        using var right = await SendAsync(app, method, path, body, TestTokens.Create(scope));

        foreach (var refused in (HttpResponseMessage[])[none, expired, foreign])
        {
            var problem = await refused.ProblemAsync(401);
            Assert.Equal("https://voicehive.dev/problems/unauthorized", problem.GetProperty("type").GetString());
            Assert.Contains(refused.Headers.WwwAuthenticate, challenge => challenge.Scheme == "Bearer");
        }

        Assert.Contains("invalid_token", expired.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("https://voicehive.dev/problems/forbidden", (await wrongScope.ProblemAsync(403)).GetProperty("type").GetString());
        Assert.True(right.IsSuccessStatusCode, $"{method} {path} with scope {scope}: {(int)right.StatusCode} {await right.Content.ReadAsStringAsync(Cancellation)}");
    }

    [Fact]
    public async Task ASigningKeyAddedWhileTheServiceRunsIsHonouredWithoutARestart()
    {
        var secrets = new ChangingConfiguration();
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        await using var running = app.WithWebHostBuilder(builder => builder.ConfigureAppConfiguration(configuration => configuration.Add(secrets)));
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        using var client = running.CreateClient().WithToken(TestTokens.Create("operations", signingKey: key, issuer: "dotnet-user-jwts"));

        using var before = await client.GetAsync("/monitoring/alerts", Cancellation);
        // What `dotnet user-jwts create` writes into user secrets, beside the issuer and key the service started with
        // (ASP.NET Core takes one key per issuer).
        secrets.Set(new()
        {
            ["Authentication:Schemes:Bearer:ValidIssuers:user-jwts"] = "dotnet-user-jwts",
            ["Authentication:Schemes:Bearer:SigningKeys:user-jwts:Issuer"] = "dotnet-user-jwts",
            ["Authentication:Schemes:Bearer:SigningKeys:user-jwts:Value"] = Convert.ToBase64String(key),
        });
        using var after = await client.GetAsync("/monitoring/alerts", Cancellation);

        await before.ProblemAsync(401);
        Assert.True(after.StatusCode == HttpStatusCode.OK, await after.Content.ReadAsStringAsync(Cancellation));
    }

    [Fact]
    public async Task TwoSigningKeysForOneIssuerStopTheStartNamingThem()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["Authentication:Schemes:Bearer:SigningKeys:second:Issuer"] = TestTokens.Issuer,
                ["Authentication:Schemes:Bearer:SigningKeys:second:Value"] = Convert.ToBase64String(new byte[32]),
            });

        var exception = Record.Exception(() => app.CreateClient());

        Assert.NotNull(exception);
        var message = exception.GetBaseException().Message;
        Assert.Contains($"more than one key for the issuer '{TestTokens.Issuer}' (entries 0, second)", message, StringComparison.Ordinal);
    }

    /// <summary>A configuration source whose values a test changes, announcing it as a changed file would.</summary>
    private sealed class ChangingConfiguration : ConfigurationProvider, IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

        public void Set(Dictionary<string, string?> values)
        {
            Data = new Dictionary<string, string?>(values, StringComparer.OrdinalIgnoreCase);
            OnReload();
        }
    }

    [Fact]
    public async Task ACallsTokenNeverReadsATranscript()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var gateway = app.CreateClient().WithToken(TestTokens.Create("calls"));
        var call = await gateway.StartCallAsync();
        await gateway.TurnAsync(call, "Hello, is my booking GR1042 still fine?");

        using var read = await gateway.GetAsync($"/api/calls/{call}", Cancellation);
        var body = await read.Content.ReadAsStringAsync(Cancellation);

        await read.ProblemAsync(403);
        Assert.DoesNotContain("GR1042", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ScopesCountWhetherSpaceSeparatedOrOneClaimEach(bool scopesAsArray)
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient().WithToken(TestTokens.Create("calls operations", scopesAsArray: scopesAsArray));

        var call = await client.StartCallAsync();
        using var read = await client.GetAsync($"/api/calls/{call}", Cancellation);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDeclaresTheBearerSchemeAndEachOperationsScope()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient().WithToken(null);

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Cancellation);
        var paths = document.GetProperty("paths");
        string[] Scopes(string path, string method) => paths.GetProperty(path).GetProperty(method).GetProperty("security")
            .EnumerateArray().SelectMany(requirement => requirement.EnumerateObject()).Where(scheme => scheme.Name == "Bearer")
            .SelectMany(scheme => scheme.Value.EnumerateArray().Select(scope => scope.GetString()!)).ToArray();

        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        Assert.Equal("JWT", bearer.GetProperty("bearerFormat").GetString());
        Assert.Equal(["calls"], Scopes("/api/calls", "post"));
        Assert.Equal(["operations"], Scopes("/api/calls/{id}", "get"));
        Assert.Equal(["operations"], Scopes("/monitoring/sla", "get"));
        Assert.True(paths.GetProperty("/monitoring/alerts/webhook").GetProperty("post").GetProperty("security")[0].TryGetProperty("AlertmanagerToken", out _));
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ScrapeToken").GetProperty("scheme").GetString());
        Assert.True(paths.GetProperty("/monitoring/scrape-targets").GetProperty("get").GetProperty("security")[0].TryGetProperty("ScrapeToken", out _));
    }

    [Fact]
    public async Task ProbesStayOpen()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = await OrchestratorDriver.StartAsync(servers, database: database);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);

        foreach (var app in (IServiceApplication[])[orchestrator, worker])
        {
            using var client = app.CreateClient().WithToken(null);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive", Cancellation)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Cancellation)).StatusCode);
        }
    }

    [Fact]
    public async Task EveryEndpointStatesWhoMayCallItAndAnyOtherPathAsksForAToken()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = await OrchestratorDriver.StartAsync(servers, database: database);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        await using var traffic = TrafficApplication.For(new Uri("http://127.0.0.1:9/"));

        foreach (var (name, app) in (IEnumerable<(string, IServiceApplication)>)[("orchestrator", orchestrator), ("worker", worker), ("traffic", traffic)])
        {
            using var client = app.CreateClient().WithToken(null);
            var endpoints = app.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
                .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().ToList();
            var silent = endpoints
                .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is null
                    && e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null)
                .Select(e => e.RoutePattern.RawText);

            Assert.True(endpoints.Count >= 5, $"{name}: only {endpoints.Count} endpoints found");
            Assert.Empty(silent);
            var problem = await (await client.GetAsync("/no-such-path", Cancellation)).ProblemAsync(401);
            Assert.Equal("https://voicehive.dev/problems/unauthorized", problem.GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task AClientOverItsLimitGets429WithRetryAfterAndIsServedAgainLater()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, new Dictionary<string, string?>
        {
            ["RateLimiting:Calls:PermitLimit"] = "2",
            ["RateLimiting:Calls:Window"] = "00:00:02",
        });
        using var client = app.CreateClient().WithToken(TestTokens.Create("calls", subject: "busy-gateway"));
        using var other = app.CreateClient().WithToken(TestTokens.Create("calls", subject: "quiet-gateway"));

        await client.StartCallAsync();
        await client.StartCallAsync();
        using var limited = await client.PostAsync("/api/calls", Json(StartBody), Cancellation);
        using var otherClient = await other.PostAsync("/api/calls", Json(StartBody), Cancellation);
        var problem = await limited.ProblemAsync(429);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        var servedAgain = await Eventually.Until(async () => (await client.PostAsync("/api/calls", Json(StartBody), Cancellation)).StatusCode,
            status => status == HttpStatusCode.Created, "the busy client to be served again", cancellationToken: Cancellation);
        using var scrape = app.CreateClient();
        var metrics = Exposition.Parse(await scrape.GetStringAsync("/metrics", Cancellation));

        Assert.Equal("https://voicehive.dev/problems/too-many-requests", problem.GetProperty("type").GetString());
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.Created, otherClient.StatusCode);
        Assert.Equal(HttpStatusCode.Created, servedAgain);
        Assert.True(metrics.Sum("aspnetcore_rate_limiting_requests_total", ("aspnetcore_rate_limiting_policy", "calls"), ("aspnetcore_rate_limiting_result", "endpoint_limiter")) >= 1);
    }

    private static async Task<HttpResponseMessage> SendAsync(IServiceApplication app, string method, string path, string? body, string? token)
    {
        using var client = app.CreateClient().WithToken(token);
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : Json(body) };
        return await client.SendAsync(request, Cancellation);
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
