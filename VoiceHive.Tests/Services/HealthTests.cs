using System.Net;
using System.Text.Json;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

public sealed class HealthTests(SharedServers servers)
{
    // The checks Aspire's client integrations add, named by them.
    private const string Postgres = "OrchestratorDbContext";
    private const string Redis = "StackExchange.Redis";

    [Fact]
    public async Task HealthReportsEveryCheckAsJson()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/health", cancellationToken);
        var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        var checks = report.GetProperty("checks");
        foreach (var name in (string[])["self", "memory", Postgres, Redis])
        {
            var check = checks.GetProperty(name);
            Assert.Equal("Healthy", check.GetProperty("status").GetString());
            Assert.True(check.GetProperty("durationMs").GetDouble() >= 0);
        }

        Assert.Contains("resident memory", checks.GetProperty("memory").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbesAnswerOutsideDevelopmentToo()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ALERT_WEBHOOK_TOKEN"] = "a-webhook-token",
                ["Monitoring:ScrapeToken"] = "a-scrape-token",
                ["Calls:CallerHashKey"] = "a-production-key-of-some-length",
            });
        using var client = app.CreateClient();

        using var health = await client.GetAsync("/health", cancellationToken);
        using var alive = await client.GetAsync("/alive", cancellationToken);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", JsonDocument.Parse(await health.Content.ReadAsStringAsync(cancellationToken)).RootElement
            .GetProperty("checks").GetProperty(Postgres).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task StoppedRedisMakesHealthUnavailableNamingRedisWhileAliveStaysUp()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), redis.ConnectionString);
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", cancellationToken)).StatusCode);

        await redis.StopAsync();

        using var health = await Eventually.Until(
            () => client.GetAsync("/health", cancellationToken),
            response => response.StatusCode == HttpStatusCode.ServiceUnavailable,
            "/health to report the outage", cancellationToken: cancellationToken);
        var body = await health.Content.ReadAsStringAsync(cancellationToken);
        var report = JsonDocument.Parse(body).RootElement;
        Assert.Equal("Unhealthy", report.GetProperty("status").GetString());
        Assert.Equal("Unhealthy", report.GetProperty("checks").GetProperty(Redis).GetProperty("status").GetString());
        // The failed check's exception (StackExchange.Redis names the endpoint and its settings) stays out of the body.
        Assert.DoesNotContain(redis.ConnectionString.Split(',')[0], body, StringComparison.Ordinal);
        Assert.DoesNotContain("exception", body, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty(Postgres).GetProperty("status").GetString());
        Assert.True(health.Headers.Contains("Retry-After"));
        using var alive = await client.GetAsync("/alive", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.DoesNotContain(Redis, await alive.Content.ReadAsStringAsync(cancellationToken), StringComparison.Ordinal);

        await redis.StartAsync();

        await Eventually.Until(
            async () => (await client.GetAsync("/health", cancellationToken)).StatusCode == HttpStatusCode.OK,
            "/health to recover once Redis is back", cancellationToken: cancellationToken);
    }

    [Fact]
    public async Task WorkerHealthCoversPostgresAndRedis()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var app = WorkerApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/health", cancellationToken);
        var checks = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("checks");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", checks.GetProperty("WorkerDbContext").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty(Redis).GetProperty("status").GetString());
        Assert.StartsWith("lag ", checks.GetProperty("event-consumer").GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}
