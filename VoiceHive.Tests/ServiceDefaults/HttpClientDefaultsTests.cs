using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Polly.CircuitBreaker;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.ServiceDefaults;

/// <summary>
/// Every HttpClient as ServiceDefaults configures it (Microsoft.Extensions.Http.Resilience's standard handler,
/// Microsoft.Extensions.ServiceDiscovery) against a scripted loopback server that counts attempts.
/// </summary>
public sealed class HttpClientDefaultsTests : IAsyncLifetime
{
    private ProgrammableHttpServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await ProgrammableHttpServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task TransientFailuresAreRetriedUntilSuccess()
    {
        _server.ThenStatus(503).ThenStatus(502);
        using var services = Services();

        using var response = await Client(services).GetAsync("http://pms/rooms", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, _server.Requests.Count);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(422)]
    public async Task NonTransientFailuresAreNotRetried(int status)
    {
        _server.ThenStatus(status);
        using var services = Services();

        using var response = await Client(services).GetAsync("http://pms/rooms", TestContext.Current.CancellationToken);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task RetriedRequestsResendTheSameBody()
    {
        _server.ThenStatus(500);
        using var services = Services();

        using var response = await Client(services).PutAsync("http://pms/bookings/7", new StringContent("""{"room":"101"}"""),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["""{"room":"101"}""", """{"room":"101"}"""], _server.Requests.Select(r => r.Body));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    public async Task APostOrPatchTheServerReceivedIsNotSentAgain(string method)
    {
        _server.ThenStatus(503);
        using var services = Services();

        using var request = new HttpRequestMessage(new HttpMethod(method), "http://pms/bookings") { Content = new StringContent("{}") };
        using var response = await Client(services).SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task APostIsRetriedWhenTheConnectionWasNeverMade()
    {
        // A port that refuses connections at first, then a server on it: the POST reaches the server once.
        var port = _server.Address.Port;
        await _server.DisposeAsync();
        using var services = Services(new() { ["services:pms:http:0"] = $"http://127.0.0.1:{port}", ["HttpResilience:Retry:Delay"] = "00:00:01", ["HttpResilience:Retry:MaxRetryAttempts"] = "5" });
        var sending = Client(services).PostAsync("http://pms/bookings", new StringContent("{}"), TestContext.Current.CancellationToken);
        _server = await ProgrammableHttpServer.StartAsync(port);

        using var response = await sending;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The port was free for a moment, so another test's Prometheus, whose target once had it, may scrape it too:
        // what is asserted is that the POST arrived exactly once, with its body.
        Assert.Equal(("POST", "/bookings", "{}"), Assert.Single(_server.Requests, r => r.Method == "POST"));
    }

    [Theory]
    [InlineData("http://pms/rooms")]
    [InlineData("https+http://pms/rooms")]
    public async Task LogicalAddressesResolveThroughServiceDiscovery(string address)
    {
        using var services = Services();

        using var response = await Client(services).GetAsync(address, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/rooms", Assert.Single(_server.Requests).Path);
    }

    [Fact]
    public async Task EveryAttemptStartsFromTheLogicalAddressAndTheCallersHeaders()
    {
        _server.ThenStatus(503).ThenStatus(503);
        using var services = Services(new() { ["services:pms:http:0"] = new Uri(_server.Address, "/api").ToString() });
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://pms/rooms");
        request.Headers.Add("X-Api-Key", "k");

        using var response = await Client(services).SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["/api/rooms", "/api/rooms", "/api/rooms"], _server.Requests.Select(r => r.Path));
        Assert.All(_server.Headers, headers => Assert.Equal("k", headers["X-Api-Key"]));
    }

    [Fact]
    public async Task AnAttemptThatHangsIsAbandonedAndRetried()
    {
        _server.Then(async context => await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted));
        using var services = Services(new() { ["HttpResilience:AttemptTimeout:Timeout"] = "00:00:00.500" });

        using var response = await Client(services).GetAsync("http://pms/rooms", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task RepeatedFailuresOpenTheCircuitSoRequestsStopReachingTheServer()
    {
        _server.Fallback = context =>
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return Task.CompletedTask;
        };
        using var services = Services(new() { ["HttpResilience:Retry:MaxRetryAttempts"] = "1" });
        var client = Client(services);

        var outcomes = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            try
            {
                using var response = await client.GetAsync("http://pms/rooms", TestContext.Current.CancellationToken);
                outcomes.Add(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (BrokenCircuitException)
            {
                outcomes.Add("open");
            }
        }

        Assert.Contains("open", outcomes);
        Assert.True(_server.Requests.Count < 10, $"requests reached the server while the circuit was open: {string.Join(",", outcomes)}");
    }

    [Fact]
    public async Task AnUnreachableOtlpCollectorDoesNotOpenTheCircuitOfTheServicesOwnClients()
    {
        using var services = Services(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{TestDirectories.FreePort()}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        var metrics = services.Services.GetRequiredService<MeterProvider>();
        for (var export = 0; export < 3; export++)
        {
            Assert.False(metrics.ForceFlush(), "nothing listens where the collector should be");
        }

        using var response = await Client(services).GetAsync("http://pms/rooms", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>A host with the service defaults, as a service has them.</summary>
    private IHost Services(Dictionary<string, string?>? overrides = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["services:pms:http:0"] = _server.Address.ToString(),
            ["HttpResilience:Retry:Delay"] = "00:00:00.010",
            // Generous, so that a slow attempt on a loaded machine is not mistaken for a hang.
            ["HttpResilience:AttemptTimeout:Timeout"] = "00:00:05",
            ["HttpResilience:TotalRequestTimeout:Timeout"] = "00:00:20",
            ["HttpResilience:CircuitBreaker:MinimumThroughput"] = "3",
            ["HttpResilience:CircuitBreaker:FailureRatio"] = "0.5",
            ["HttpResilience:CircuitBreaker:BreakDuration"] = "00:00:30",
        };
        foreach (var (key, value) in overrides ?? [])
        {
            values[key] = value;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(values);
        builder.AddServiceDefaults();
        builder.Logging.ClearProviders();
        return builder.Build();
    }

    private static HttpClient Client(IHost services) =>
        services.Services.GetRequiredService<IHttpClientFactory>().CreateClient("pms");
}
