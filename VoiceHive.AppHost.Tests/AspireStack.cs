using Aspire.Hosting;
using Aspire.Hosting.Testing;
using VoiceHive.Tests.Stack;

namespace VoiceHive.AppHost.Tests;

/// <summary>The AppHost started by Aspire's testing builder, seen through <see cref="IVoiceHiveStack"/>.</summary>
public sealed class AspireStack : IVoiceHiveStack
{
    private static readonly string[] Resources = ["redis", "postgres", "voicehivedb", "orchestrator", "worker", "jaeger", "alertmanager", "prometheus", "grafana"];
    private readonly DistributedApplication _app;

    private AspireStack(DistributedApplication app, string database, string redis)
    {
        _app = app;
        DatabaseConnectionString = database;
        RedisConnectionString = redis;
        Orchestrator = app.GetEndpoint("orchestrator", "http");
        Worker = app.GetEndpoint("worker", "http");
        Prometheus = app.GetEndpoint("prometheus", "http");
        Alertmanager = app.GetEndpoint("alertmanager", "http");
    }

    public Uri Orchestrator { get; }

    public Uri Worker { get; }

    public Uri Prometheus { get; }

    public Uri Alertmanager { get; }

    public string DatabaseConnectionString { get; }

    public string RedisConnectionString { get; }

    public string WebhookToken => "stack-webhook-token";

    public string ScrapeToken => "stack-scrape-token";

    // The AppHost must give both services TestTokens' issuer, audience and signing key (TestTokens.Settings), and
    // ScrapeToken as Monitoring:ScrapeToken, for these to be accepted.
    public string CallsToken { get; } = VoiceHive.Tests.Infrastructure.TestTokens.Create("calls", subject: "stack-gateway");

    public string OperationsToken { get; } = VoiceHive.Tests.Infrastructure.TestTokens.Create("operations", subject: "stack-operator");

    public IReadOnlyCollection<string> ScrapeJobs { get; } =
        ["voicehive-orchestrator", "voicehive-business-metrics", "voicehive-worker", "voicehive-worker-business-metrics", "redis", "postgres"];

    public static async Task<AspireStack> StartAsync(CancellationToken cancellationToken)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.VoiceHive_AppHost>(
            [
                "Parameters:grafana-admin-password=stack-grafana-password",
                "Parameters:alert-webhook-token=stack-webhook-token",
                "Parameters:caller-hash-key=stack-caller-hash-key-0123456789",
                "Parameters:slack-webhook-url=http://127.0.0.1:9/slack",
                "Parameters:pagerduty-integration-key=stack-routing-key",
            ],
            cancellationToken);
        var app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        foreach (var resource in Resources)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken);
        }

        return new AspireStack(app,
            await app.GetConnectionStringAsync("voicehivedb", cancellationToken) ?? throw new InvalidOperationException("no voicehivedb connection string"),
            await app.GetConnectionStringAsync("redis", cancellationToken) ?? throw new InvalidOperationException("no redis connection string"));
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>The shared stack tests on the AppHost.</summary>
public sealed class AspireStackTests : StackTests
{
    protected override async Task<IVoiceHiveStack> StartStackAsync() =>
        await AspireStack.StartAsync(TestContext.Current.CancellationToken);

    [Fact]
    public async Task TheOrchestratorAnswersThroughTheTestingBuilder()
    {
        await using var stack = await AspireStack.StartAsync(TestContext.Current.CancellationToken);

        var health = await new HttpClient { BaseAddress = stack.Orchestrator }.GetAsync("/health", TestContext.Current.CancellationToken);

        Assert.True(health.IsSuccessStatusCode);
    }
}
