using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.ServiceDefaults.Telemetry;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

/// <summary>What the two scrape endpoints of each service serve, checked by promtool.</summary>
public sealed class ScrapeEndpointTests(SharedServers servers)
{
    [Theory]
    [InlineData("orchestrator")]
    [InlineData("worker")]
    public async Task BothScrapeEndpointsPassPromtoolCheckMetrics(string service)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = await StartAsync(service);
        using var client = app.CreateClient();
        // Traffic first, so that the HTTP server metrics have series.
        for (var i = 0; i < 3; i++)
        {
            await client.GetAsync("/health", cancellationToken);
            await client.GetAsync("/no-such-route", cancellationToken);
        }

        var platform = await client.GetStringAsync("/metrics", cancellationToken);
        var business = await client.GetStringAsync("/monitoring/metrics", cancellationToken);

        var platformCheck = await Promtool.RunAsync(["check", "metrics"], platform);
        var businessCheck = await Promtool.RunAsync(["check", "metrics"], business);
        Assert.True(platformCheck.ExitCode == 0, $"promtool check metrics on /metrics:\n{platformCheck.Output}");
        Assert.True(businessCheck.ExitCode == 0, $"promtool check metrics on /monitoring/metrics:\n{businessCheck.Output}");
        Assert.Contains("http_server_request_duration_seconds_bucket{", platform, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections_total", platform, StringComparison.Ordinal);
        // A gauge named like a histogram's series is exposed with _current, which keeps promtool content.
        Assert.Contains("# TYPE dotnet_assembly_count_current gauge", platform, StringComparison.Ordinal);
        Assert.Contains("# TYPE voicehive_memory_usage_bytes gauge", business, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EndpointsSplitTheMetersSoNoSeriesAppearsTwice()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = await StartAsync("orchestrator");
        using var client = app.CreateClient();
        await client.GetAsync("/no-such-route", cancellationToken);

        // Waits for the request's duration to be recorded (see CountedAsync).
        var platform = await Eventually.Until(() => client.GetStringAsync("/metrics", cancellationToken),
            exposition => exposition.Contains("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal),
            "the request's duration recorded", cancellationToken: cancellationToken);
        var business = await client.GetStringAsync("/monitoring/metrics", cancellationToken);

        var platformNames = SampleNames(platform);
        var businessNames = SampleNames(business);
        Assert.Contains("http_server_request_duration_seconds_bucket", platformNames);
        Assert.Contains("voicehive_memory_usage_bytes", businessNames);
        Assert.DoesNotContain(platformNames, name => name.StartsWith("voicehive_", StringComparison.Ordinal));
        Assert.All(businessNames, name => Assert.StartsWith("voicehive_", name, StringComparison.Ordinal));
        Assert.Empty(platformNames.Intersect(businessNames));
    }

    [Theory]
    [InlineData(null, "text/plain; version=0.0.4; charset=utf-8", false)]
    [InlineData("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "application/openmetrics-text; version=1.0.0; charset=utf-8", true)]
    public async Task AcceptHeaderSelectsTheFormat(string? accept, string contentType, bool endsWithEof)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = await StartAsync("orchestrator");
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/monitoring/metrics");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The media type and its version; other parameters (the exporter adds escaping=underscores) are Prometheus's to read.
        var expected = MediaTypeHeaderValue.Parse(contentType);
        var actual = response.Content.Headers.ContentType!;
        Assert.Equal(expected.MediaType, actual.MediaType);
        Assert.Equal(Version(expected), Version(actual));
        Assert.Equal(endsWithEof, body.EndsWith("# EOF\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MetricsDisabledServesAnEmptyExposition()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = await StartAsync("orchestrator", new Dictionary<string, string?> { ["METRICS_ENABLED"] = "false" });
        using var client = app.CreateClient();
        await client.GetAsync("/health", cancellationToken);

        var platform = await client.GetAsync("/metrics", cancellationToken);
        var business = await client.GetAsync("/monitoring/metrics", cancellationToken);

        Assert.Equal(HttpStatusCode.OK, platform.StatusCode);
        Assert.Equal("", await platform.Content.ReadAsStringAsync(cancellationToken));
        Assert.Equal("", await business.Content.ReadAsStringAsync(cancellationToken));
    }

    [Fact]
    public async Task NoLabelCarriesConnectionDetails()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var database = await servers.Postgres.CreateDatabaseAsync();
        var databaseName = new Npgsql.NpgsqlConnectionStringBuilder(database).Database!;
        await using var app = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        using var client = app.CreateClient();
        await client.GetAsync("/health", cancellationToken);

        var platform = await client.GetStringAsync("/metrics", cancellationToken);

        // The meters are process-wide, so other tests' pools may show up here; this service's pool
        // must be named after its connection, and its connection string must appear nowhere.
        Assert.Contains("db_client_connection_count_current{db_client_connection_pool_name=\"voicehivedb\"", platform, StringComparison.Ordinal);
        Assert.DoesNotContain(databaseName, platform, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServicesOwnMetersAppearOnTheBusinessEndpoint()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = await StartAsync("orchestrator");
        using var client = app.CreateClient();
        using var meter = app.Services.GetRequiredService<IMeterFactory>().Create("voicehive.test");
        meter.CreateCounter<long>("voicehive.test.events", description: "Events in a test.")
            .Add(4, new KeyValuePair<string, object?>("hotel_id", "grand-plaza"));

        var business = await client.GetStringAsync("/monitoring/metrics", cancellationToken);
        var platform = await client.GetStringAsync("/metrics", cancellationToken);

        Assert.Contains("voicehive_test_events_total{hotel_id=\"grand-plaza\"} 4\n", business, StringComparison.Ordinal);
        Assert.DoesNotContain("voicehive_test_events", platform, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstrumentsNoRuleReadsAreNeverEnabled()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = await StartAsync("orchestrator");
        using var client = app.CreateClient().WithToken(TestTokens.Create("calls"));
        // A call with an empty body: routed, its token validated, its scope authorized, a rate-limiter lease taken, then
        // refused by validation. The database behind the readiness check has run commands since the start.
        using (var response = await client.PostAsJsonAsync("/api/calls", new { }, cancellationToken))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        // Enabled says whether any listener records an instrument: the dropped ones are not recorded at all. This
        // host's instruments are those of its IMeterFactory's meters; Npgsql's meter is process-wide, and no host in
        // this test process records the instruments dropped from it.
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        var enabled = new ConcurrentDictionary<(string Meter, string Instrument), bool>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    enabled[(instrument.Meter.Name, instrument.Name)] = instrument.Enabled;
                }
            };
            listener.Start();
        }

        // Each name dropped is one the library publishes (a misspelt name would drop nothing and pass).
        foreach (var (meter, names) in UnreadInstruments.ByMeter.Where(entry => entry.Value is not null))
        {
            Assert.All(names!, name => Assert.False(Assert.Contains((meter, name), enabled), $"{meter}: {name}"));
        }

        // Beside them, in the same meters, what the rules, the dashboards and the 401, 403 and 429 counts read.
        Assert.True(enabled[("Microsoft.AspNetCore.Hosting", "http.server.request.duration")]);
        Assert.True(enabled[("Microsoft.AspNetCore.RateLimiting", "aspnetcore.rate_limiting.requests")]);
        Assert.True(enabled[("Microsoft.AspNetCore.Authentication", "aspnetcore.authentication.challenges")]);
        Assert.True(enabled[("Npgsql", "db.client.operation.duration")]);

        // Kestrel's memory pool, which the test server does not use: the meter is dropped whole, so an instrument
        // created on it is never enabled, while one on a meter the provider records is.
        var rented = factory.Create(UnreadInstruments.MemoryPoolMeter).CreateCounter<long>("aspnetcore.memory_pool.rented", "By");
        var control = factory.Create("Microsoft.AspNetCore.Hosting").CreateCounter<long>("voicehive.test.control");
        Assert.False(rented.Enabled);
        Assert.True(control.Enabled);

        var platform = await Eventually.Until(() => client.GetStringAsync("/metrics", cancellationToken),
            exposition => exposition.Contains("aspnetcore_rate_limiting_requests_total{", StringComparison.Ordinal)
                && exposition.Contains("db_client_operation_duration_seconds_bucket{", StringComparison.Ordinal),
            "the call's lease and a command's duration recorded", cancellationToken: cancellationToken);
        Assert.All(["npgsql_bytes", "aspnetcore_routing_", "aspnetcore_authorization_", "authenticate_duration", "request_lease", "active_request_leases"],
            dropped => Assert.DoesNotContain(dropped, platform, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostsInOneProcessKeepTheirOwnSeries()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var first = await StartAsync("orchestrator");
        await using var second = await StartAsync("orchestrator");
        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            await firstClient.GetAsync("/counted", cancellationToken);
        }

        for (var i = 0; i < 5; i++)
        {
            await secondClient.GetAsync("/counted", cancellationToken);
        }

        Assert.Equal(3, await CountedAsync(firstClient, atLeast: 3));
        Assert.Equal(5, await CountedAsync(secondClient, atLeast: 5));
    }

    /// <summary>
    /// The in-memory test server hands the client its response before the hosting layer records the request's duration
    /// (that happens as the request's context is disposed), so the last request can be a moment late to the count: wait for
    /// the requests sent, then the caller checks that there are no more than that.
    /// </summary>
    private static Task<long> CountedAsync(HttpClient client, long atLeast) => Eventually.Until(
        async () => NotFoundCount(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken)),
        count => count >= atLeast, $"{atLeast} requests counted", cancellationToken: TestContext.Current.CancellationToken);

    private static string? Version(MediaTypeHeaderValue contentType) =>
        contentType.Parameters.FirstOrDefault(p => p.Name == "version")?.Value;

    private static long NotFoundCount(string exposition) => exposition.Split('\n')
        .Where(line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains("http_response_status_code=\"404\"", StringComparison.Ordinal))
        .Sum(line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static HashSet<string> SampleNames(string exposition) =>
        exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => line[..line.IndexOfAny(['{', ' '])])
            .ToHashSet(StringComparer.Ordinal);

    private async Task<IServiceApplication> StartAsync(string service, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        return service == "worker"
            ? WorkerApplication.For(database, servers.Redis.ConnectionString, extra)
            : OrchestratorApplication.For(database, servers.Redis.ConnectionString, extra);
    }
}
