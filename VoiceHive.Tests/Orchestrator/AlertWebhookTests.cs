using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

public sealed class AlertWebhookTests(SharedServers servers)
{
    private const string Token = "test-webhook-token";
    private static readonly Dictionary<string, string?> WithToken = new() { ["ALERT_WEBHOOK_TOKEN"] = Token };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Basic dGVzdDp0ZXN0")]
    [InlineData("Bearer ")]
    public async Task AMissingOrWrongTokenIsUnauthorized(string? authorization)
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/monitoring/alerts/webhook") { Content = Json(Payload("firing")) };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.SendAsync(request, Cancellation);

        await response.ProblemAsync(401);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Theory]
    [InlineData("", Token)]
    [InlineData("   ", Token)]
    [InlineData("a-section-token", "a-section-token")]
    public async Task TheSectionsTokenWinsAndABlankOneFallsBackToTheVariable(string sectionToken, string accepted)
    {
        // A blank AlertWebhook:Token (an empty variable left in a deployment) must not lock Alertmanager out.
        await using var app = await OrchestratorDriver.StartAsync(servers,
            new Dictionary<string, string?>(WithToken) { ["AlertWebhook:Token"] = sectionToken });
        using var client = app.CreateClient();

        async Task<HttpStatusCode> PostAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/monitoring/alerts/webhook") { Content = Json(Payload("firing")) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request, Cancellation);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await PostAsync(accepted));
        if (accepted != Token)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(Token));
        }
    }

    [Fact]
    public async Task EachCredentialOpensOnlyItsOwnDoor()
    {
        // The webhook token, an operator's JWT and the scrape token are three schemes; each policy names its own, so
        // none of them is tried, or accepted, where another is expected.
        await using var app = await OrchestratorDriver.StartAsync(servers,
            new Dictionary<string, string?>(WithToken) { ["Monitoring:ScrapeToken"] = "a-scrape-token" });
        var operatorJwt = TestTokens.Create("operations calls");

        async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, HttpContent? content = null)
        {
            using var client = app.CreateClient().WithToken(token);
            using var request = new HttpRequestMessage(method, path) { Content = content };
            return await client.SendAsync(request, Cancellation);
        }

        using var webhookWithJwt = await SendAsync(HttpMethod.Post, "/monitoring/alerts/webhook", operatorJwt, Json(Payload("firing")));
        using var webhookWithScrapeToken = await SendAsync(HttpMethod.Post, "/monitoring/alerts/webhook", "a-scrape-token", Json(Payload("firing")));
        using var alertsWithWebhookToken = await SendAsync(HttpMethod.Get, "/monitoring/alerts", Token);
        using var metricsWithWebhookToken = await SendAsync(HttpMethod.Get, "/metrics", Token);
        using var callsWithScrapeToken = await SendAsync(HttpMethod.Post, "/api/calls", "a-scrape-token",
            new StringContent("""{"hotelId":"grand-plaza","callerNumber":"+447700900123","language":"en"}""", Encoding.UTF8, "application/json"));
        using var alertsWithJwt = await SendAsync(HttpMethod.Get, "/monitoring/alerts", operatorJwt);
        using var webhookWithItsToken = await SendAsync(HttpMethod.Post, "/monitoring/alerts/webhook", Token, Json(Payload("firing")));

        foreach (var refused in (HttpResponseMessage[])[webhookWithJwt, webhookWithScrapeToken, alertsWithWebhookToken, metricsWithWebhookToken, callsWithScrapeToken])
        {
            await refused.ProblemAsync(401);
            Assert.Equal("Bearer", Assert.Single(refused.Headers.WwwAuthenticate).Scheme);
        }

        Assert.Equal(HttpStatusCode.OK, alertsWithJwt.StatusCode);
        Assert.Equal(HttpStatusCode.OK, webhookWithItsToken.StatusCode);
    }

    [Fact]
    public async Task NoOtherSchemeLooksAtTheWebhooksToken()
    {
        // ASP.NET Core's own authentication metric names the scheme of every authentication the host runs; listened to
        // for this host's meters only (its IMeterFactory), so tests running beside it do not count.
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        var schemes = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, listening) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "aspnetcore.authentication.authenticate.duration")
            {
                listening.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "aspnetcore.authentication.scheme" && tag.Value is string scheme)
                {
                    schemes.Enqueue(scheme);
                }
            }
        });
        listener.Start();

        using (var client = Authorized(app))
        {
            using var delivered = await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing")), Cancellation);
            Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        }

        Assert.Equal(["AlertmanagerToken"], schemes.ToArray());

        // The listener does see a JWT where one is expected.
        using var operatorClient = app.CreateClient().WithToken(TestTokens.Create("operations"));
        using var alerts = await operatorClient.GetAsync("/monitoring/alerts", Cancellation);
        Assert.Equal(HttpStatusCode.OK, alerts.StatusCode);
        Assert.Equal(["AlertmanagerToken", "Bearer"], schemes.ToArray());
    }

    [Fact]
    public async Task WithoutAConfiguredTokenEveryDeliveryIsRefused()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = Authorized(app);

        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing")), Cancellation);

        await response.ProblemAsync(401);
    }

    [Fact]
    public async Task TheSameDeliveryFiveTimesIsStoredOnce()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString, WithToken);
        using var client = Authorized(app);
        var body = Payload("firing");

        var results = new List<JsonElement>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(body), Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            results.Add(await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation));
        }

        Assert.Equal([1, 0, 0, 0, 0], results.Select(r => r.GetProperty("stored").GetInt32()));
        Assert.Equal(1L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM alerts"));
        Assert.Equal(1L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE type = 'alert.firing'"));
    }

    [Fact]
    public async Task AResolvedNotificationClosesTheFiringAlertOnce()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString, WithToken);
        using var client = Authorized(app);

        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing")), Cancellation);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("resolved")), Cancellation);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("resolved")), Cancellation);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing")), Cancellation);
        var alerts = await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts", Cancellation);

        var alert = Assert.Single(alerts.EnumerateArray());
        Assert.Equal("resolved", alert.GetProperty("status").GetString());
        Assert.Equal("PMSResponseTimeSlow", alert.GetProperty("alertName").GetString());
        Assert.Equal("grand-plaza", alert.GetProperty("hotelId").GetString());
        Assert.Equal("warning", alert.GetProperty("severity").GetString());
        Assert.Equal("95th percentile PMS response time is 3.2s", alert.GetProperty("annotations").GetProperty("description").GetString());
        Assert.Equal(["received", "resolved"], alert.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
        Assert.Equal(2L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages"));
    }

    [Fact]
    public async Task ANotificationIsStoredAsAWholeWithOneOutboxMessagePerChange()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString, WithToken);
        using var client = Authorized(app);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing", fingerprint: "already-stored")), Cancellation);

        // One notification: the alert stored before (no change), a new alert twice (firing, then resolved: one change,
        // resolved), and a new alert whose startsAt has an offset (stored in UTC).
        var notification = System.Text.Json.Nodes.JsonNode.Parse(Payload("firing", fingerprint: "already-stored"))!;
        var alerts = notification["alerts"]!.AsArray();
        alerts.Add(System.Text.Json.Nodes.JsonNode.Parse(Payload("firing", fingerprint: "twice"))!["alerts"]![0]!.DeepClone());
        alerts.Add(System.Text.Json.Nodes.JsonNode.Parse(Payload("resolved", fingerprint: "twice"))!["alerts"]![0]!.DeepClone());
        var offset = System.Text.Json.Nodes.JsonNode.Parse(Payload("firing", fingerprint: "offset", hotel: "harbor-view"))!["alerts"]![0]!.DeepClone();
        offset["startsAt"] = "2026-11-22T12:00:00+02:00";
        alerts.Add(offset);
        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(notification.ToJsonString()), Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal(4, result.GetProperty("received").GetInt32());
        Assert.Equal(2, result.GetProperty("stored").GetInt32());
        Assert.Equal(1L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM alerts WHERE fingerprint = 'twice' AND status = 'resolved'"));
        Assert.Equal(1L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM alerts WHERE fingerprint = 'offset' AND starts_at = '2026-11-22T10:00:00Z'"));
        // Each change's outbox message names its alert row, as the worker expects.
        Assert.Equal(3L, await TestDatabase.ScalarAsync(database, """
            SELECT count(*) FROM outbox_messages o JOIN alerts a ON a.id = (o.payload->>'alertId')::bigint
            WHERE o.payload->>'fingerprint' = a.fingerprint AND o.payload->>'alertName' = a.alertname
              AND o.type = CASE WHEN a.status = 'resolved' THEN 'alert.resolved' ELSE 'alert.firing' END
              AND (o.payload->>'startsAt')::timestamptz = a.starts_at AND o.payload->'labels'->>'hotel_id' = a.hotel_id
            """));
        Assert.Equal(3L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM alert_events"));
    }

    [Fact]
    public async Task TwoStartsAtThatPostgreSqlCannotTellApartAreOneAlert()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString, WithToken);
        using var client = Authorized(app);
        var notification = System.Text.Json.Nodes.JsonNode.Parse(Payload("firing"))!;
        var alerts = notification["alerts"]!.AsArray();
        alerts[0]!["startsAt"] = "2026-11-22T10:00:00.1234567Z";
        var twin = alerts[0]!.DeepClone();
        twin["startsAt"] = "2026-11-22T10:00:00.1234568Z";
        alerts.Add(twin);

        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(notification.ToJsonString()), Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1L, await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM alerts"));
    }

    [Fact]
    public async Task ANulCharacterIsABadRequestNotARetry()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, WithToken);
        using var client = Authorized(app);
        var notification = System.Text.Json.Nodes.JsonNode.Parse(Payload("firing"))!;
        notification["alerts"]![0]!["annotations"]!["summary"] = "PMS\u0000slow";

        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(notification.ToJsonString()), Cancellation);

        var problem = await response.ProblemAsync(400);
        Assert.Contains("NUL", problem.GetProperty("errors").GetProperty("alerts[0].annotations")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheListFiltersByStatusSeverityAndHotel()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        using var client = Authorized(app);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing", fingerprint: "a1", hotel: "grand-plaza", severity: "warning")), Cancellation);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing", fingerprint: "b2", hotel: "harbor-view", severity: "critical")), Cancellation);
        await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("resolved", fingerprint: "a1", hotel: "grand-plaza", severity: "warning")), Cancellation);

        async Task<string[]> Fingerprints(string query) =>
            (await client.GetFromJsonAsync<JsonElement>("/monitoring/alerts" + query, Cancellation)).EnumerateArray()
                .Select(a => a.GetProperty("fingerprint").GetString()!).Order().ToArray();

        Assert.Equal(["a1", "b2"], await Fingerprints(""));
        Assert.Equal(["b2"], await Fingerprints("?status=firing"));
        Assert.Equal(["a1"], await Fingerprints("?status=resolved"));
        Assert.Equal(["b2"], await Fingerprints("?severity=critical"));
        Assert.Equal(["a1"], await Fingerprints("?hotel=grand-plaza"));
        await (await client.GetAsync("/monitoring/alerts?status=sleeping", Cancellation)).ProblemAsync(400);
        await (await client.GetAsync("/monitoring/alerts?limit=0", Cancellation)).ProblemAsync(400);
    }

    [Fact]
    public async Task ABrokenNotificationIsA400NamingEachBrokenField()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        using var client = Authorized(app);

        async Task<string[]> BrokenFields(Action<System.Text.Json.Nodes.JsonObject> breakIt)
        {
            var notification = System.Text.Json.Nodes.JsonNode.Parse(Payload("firing"))!.AsObject();
            notification["alerts"]!.AsArray().Add(notification["alerts"]![0]!.DeepClone());
            breakIt(notification);
            using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(notification.ToJsonString()), Cancellation);
            var problem = await response.ProblemAsync(400);
            Assert.Equal("https://voicehive.dev/problems/validation", problem.GetProperty("type").GetString());
            return problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal).ToArray();
        }

        Assert.Equal(["version"], await BrokenFields(n => n["version"] = "3"));
        Assert.Equal(["alerts"], await BrokenFields(n => n["alerts"] = new System.Text.Json.Nodes.JsonArray()));
        Assert.Equal(["alerts[0].status", "alerts[1].fingerprint"], await BrokenFields(n =>
        {
            n["alerts"]![0]!["status"] = "sleeping";
            n["alerts"]![1]!["fingerprint"] = new string('f', 65);
        }));
        Assert.Equal(["alerts[0].startsAt", "alerts[1].status"], await BrokenFields(n =>
        {
            n["alerts"]![0]!.AsObject().Remove("startsAt");
            n["alerts"]![1]!.AsObject().Remove("status");
        }));
        Assert.Equal(["alerts[1].labels"], await BrokenFields(n => n["alerts"]![1]!["labels"]!.AsObject().Remove("alertname")));
        Assert.Equal(["alerts[0].annotations"], await BrokenFields(n => n["alerts"]![0]!["annotations"]!["runbook"] = new string('r', 20_000)));
        Assert.Equal(["alerts[1]"], await BrokenFields(n => n["alerts"]![1] = null));
    }

    [Fact]
    public async Task TheWebhookRunsNoValidationFilter()
    {
        // The handler validates the body itself: the minimal-API filter could only look at HttpContext, and would run
        // on every delivery (Profiling.md, section 3).
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);

        var webhook = app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Single(endpoint => endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == "AlertmanagerWebhook");

        Assert.NotNull(webhook.Metadata.GetMetadata<IDisableValidationMetadata>());
    }

    [Fact]
    public async Task NotificationsValidatedAtTheSameTimeAreEachJudgedOnTheirOwn()
    {
        // The validator's rules and the handler are shared by every request: no request's errors, field path or
        // required-field state may show in another's answer.
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        using var client = Authorized(app);
        string[] Breaks(int i) => (i % 3) switch
        {
            0 => [],
            1 => ["alerts[0].status"],
            _ => ["alerts[0].fingerprint"],
        };

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(async i =>
        {
            var notification = System.Text.Json.Nodes.JsonNode.Parse(Payload("firing", fingerprint: $"concurrent{i}"))!.AsObject();
            foreach (var field in Breaks(i))
            {
                notification["alerts"]![0]!.AsObject().Remove(field["alerts[0].".Length..]);
            }

            using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(notification.ToJsonString()), Cancellation);
            return (Expected: Breaks(i), Named: response.IsSuccessStatusCode
                ? []
                : (await response.ProblemAsync(400)).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToArray());
        }));

        Assert.All(answers, answer => Assert.Equal(answer.Expected, answer.Named));
    }

    [Fact]
    public async Task AFloodOfBrokenAlertsIsAnsweredWithTheFirstFieldsOnly()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        using var client = Authorized(app);
        var flood = Payload("firing").Replace("\"alerts\":[", "\"alerts\":[" + string.Concat(Enumerable.Repeat("{},", 10_000)), StringComparison.Ordinal);

        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(flood), Cancellation);

        var problem = await response.ProblemAsync(400);
        Assert.Equal(20, problem.GetProperty("errors").EnumerateObject().Count());
        Assert.Equal("alerts[0].status", problem.GetProperty("errors").EnumerateObject().First().Name);
        Assert.Equal("30000 fields are invalid; the first 20 are named.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AnOversizedBodyIs413()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers, WithToken);
        using var client = Authorized(app);
        var huge = Payload("firing").Replace("\"summary\":\"PMS response time is slow\"", $"\"summary\":\"{new string('x', 1_100_000)}\"", StringComparison.Ordinal);

        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(huge), Cancellation);

        await response.ProblemAsync(413);
    }

    [Fact]
    public async Task HostileBodiesNeverCauseA5xxAndTheServiceStaysHealthy()
    {
        // Hundreds of deliveries back to back: above the webhook's default rate limit, which is not under test here.
        await using var app = await OrchestratorDriver.StartAsync(servers, new Dictionary<string, string?>(WithToken) { ["RateLimiting:Webhook:PermitLimit"] = "100000" });
        using var client = Authorized(app);

        var statuses = new List<(int Status, string Case)>();
        foreach (var (name, body) in HostileBodies())
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync("/monitoring/alerts/webhook", content, Cancellation);
            statuses.Add(((int)response.StatusCode, name));
        }

        Assert.True(statuses.Count >= 300, $"only {statuses.Count} cases");
        Assert.All(statuses, s => Assert.True(s.Status is 200 or 400 or 413, $"{s.Case}: {s.Status}"));
        Assert.Contains(statuses, s => s.Status == 400);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task WhenTheAlertCannotBeStoredAlertmanagerIsToldToRetry()
    {
        await using var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        await using var app = OrchestratorApplication.For(await postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, WithToken);
        using var client = Authorized(app);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing", fingerprint: "before")), Cancellation)).StatusCode);

        await postgres.StopAsync();
        using var response = await client.PostAsync("/monitoring/alerts/webhook", Json(Payload("firing", fingerprint: "during")), Cancellation);

        await response.ProblemAsync(503);
        Assert.True(response.Headers.RetryAfter is not null);
    }

    internal static string Payload(string status, string fingerprint = "5f3c1e2d9a7b4c60", string hotel = "grand-plaza", string severity = "warning",
        string startsAt = "2026-11-22T10:00:00Z")
    {
        var endsAt = status == "resolved" ? "2026-11-22T10:15:00Z" : "0001-01-01T00:00:00Z";
        return JsonSerializer.Serialize(new
        {
            version = "4",
            groupKey = "{}:{alertname=\"PMSResponseTimeSlow\"}",
            truncatedAlerts = 0,
            status,
            receiver = "voicehive-webhook",
            groupLabels = new { alertname = "PMSResponseTimeSlow" },
            commonLabels = new { alertname = "PMSResponseTimeSlow", severity },
            commonAnnotations = new { },
            externalURL = "http://alertmanager:9093",
            alerts = new[]
            {
                new
                {
                    status,
                    labels = new Dictionary<string, string> { ["alertname"] = "PMSResponseTimeSlow", ["severity"] = severity, ["service"] = "voicehive-orchestrator", ["hotel_id"] = hotel },
                    annotations = new Dictionary<string, string> { ["summary"] = "PMS response time is slow", ["description"] = "95th percentile PMS response time is 3.2s" },
                    startsAt,
                    endsAt,
                    generatorURL = "http://prometheus:9090/graph",
                    fingerprint,
                },
            },
        });
    }

    /// <summary>A client that sends the webhook token to the webhook, as Alertmanager does, and the harness's JWT everywhere else.</summary>
    internal static HttpClient Authorized(OrchestratorApplication app) => app.CreateDefaultClient(new WebhookToken());

    private sealed class WebhookToken : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri?.AbsolutePath.EndsWith("/monitoring/alerts/webhook", StringComparison.Ordinal) == true)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>Generated malformed or hostile bodies: truncations, wrong types, huge strings, deep nesting, invalid UTF-8.</summary>
    private static IEnumerable<(string Name, byte[] Body)> HostileBodies()
    {
        var valid = Payload("firing");
        var bytes = Encoding.UTF8.GetBytes(valid);
        for (var cut = 0; cut < bytes.Length; cut += Math.Max(1, bytes.Length / 120))
        {
            yield return ($"truncated at {cut}", bytes[..cut]);
        }

        string[] replacements = ["null", "0", "-1", "1e308", "true", "\"\"", "[]", "{}", "[null]", "\"x\"", "[{}]", "{\"a\":1}"];
        string[] fields = ["version", "status", "alerts", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "alertname", "groupLabels", "truncatedAlerts"];
        foreach (var field in fields)
        {
            foreach (var replacement in replacements)
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(valid)!;
                Replace(node, field, System.Text.Json.Nodes.JsonNode.Parse(replacement));
                yield return ($"{field}={replacement}", Encoding.UTF8.GetBytes(node.ToJsonString()));
            }
        }

        yield return ("deep nesting", Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000)));
        yield return ("deep object", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 5_000)) + "1" + new string('}', 5_000)));
        yield return ("invalid utf-8", [.. bytes[..40], 0xC3, 0x28, 0xFF, 0xFE, .. bytes[40..]]);
        yield return ("lone surrogate escape", Encoding.UTF8.GetBytes(valid.Replace("PMS response time is slow", "\\ud800 broken", StringComparison.Ordinal)));
        yield return ("huge label", Encoding.UTF8.GetBytes(valid.Replace("grand-plaza", new string('h', 200_000), StringComparison.Ordinal)));
        yield return ("many alerts", Encoding.UTF8.GetBytes(valid.Replace("\"alerts\":[", "\"alerts\":[" + string.Concat(Enumerable.Repeat("{},", 10_000)), StringComparison.Ordinal)));
        yield return ("empty", []);
        yield return ("not json", "<xml/>"u8.ToArray());
        yield return ("bom only", [0xEF, 0xBB, 0xBF]);
        yield return ("nul bytes", new byte[1000]);
        yield return ("number", "42"u8.ToArray());
        yield return ("string", "\"alerts\""u8.ToArray());
        var random = new Random(20261122);
        for (var i = 0; i < 60; i++)
        {
            var mutated = (byte[])bytes.Clone();
            for (var j = 0; j < 5; j++)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            yield return ($"random mutation {i}", mutated);
        }
    }

    private static void Replace(System.Text.Json.Nodes.JsonNode node, string field, System.Text.Json.Nodes.JsonNode? value)
    {
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (key == field)
                    {
                        obj[key] = value?.DeepClone();
                    }
                    else if (obj[key] is { } child)
                    {
                        Replace(child, field, value);
                    }
                }

                break;
            case System.Text.Json.Nodes.JsonArray array:
                foreach (var child in array)
                {
                    if (child is not null)
                    {
                        Replace(child, field, value);
                    }
                }

                break;
        }
    }
}
