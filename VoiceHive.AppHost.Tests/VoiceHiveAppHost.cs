using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VoiceHive.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(VoiceHive.AppHost.Tests.VoiceHiveAppHost))]

// One AppHost for the whole run, and the tests take turns with it (a PMS fault or a Redis outage is felt by all).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace VoiceHive.AppHost.Tests;

/// <summary>
/// The AppHost, started once through Aspire.Hosting.Testing in the host-process form (the Debian packages' servers
/// on loopback, as on a machine without a container engine), its state in the test run's directory, alerting at
/// test speed (<c>Monitoring:FastAlerting</c>), and Slack and PagerDuty replaced by fakes that speak their protocols.
/// </summary>
public sealed class VoiceHiveAppHost : IAsyncLifetime
{
    public const string WebhookToken = "apphost-tests-webhook-token";
    public const string ScrapeToken = "apphost-tests-scrape-token";
    public const string PagerDutyRoutingKey = "R0UT1NGKEY";

    /// <summary>The services' signing key in this run (base64, 32 bytes), given to the AppHost as its <c>jwt-signing-key</c>.</summary>
    public static readonly string SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _states = new();
    private CancellationTokenSource? _watching;

    public DistributedApplication App { get; private set; } = null!;

    public ProgrammableHttpServer Slack { get; private set; } = null!;

    public ProgrammableHttpServer PagerDuty { get; private set; } = null!;

    /// <summary>Every resource that starts with the AppHost (not parameters, not those started on demand): what must be running and healthy.</summary>
    public IReadOnlyList<string> Resources { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Slack = await ProgrammableHttpServer.StartAsync();
        PagerDuty = await ProgrammableHttpServer.StartPagerDutyAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.VoiceHive_AppHost>(
            [
                "Infrastructure:Form=processes",
                $"Infrastructure:DataDirectory={TestDirectories.Create("apphost")}",
                "Monitoring:FastAlerting=true",
                $"Monitoring:PagerDutyUrl={new Uri(PagerDuty.Address, "/v2/enqueue")}",
                $"Parameters:slack-webhook-url={new Uri(Slack.Address, "/services/T000/B000/XXXX")}",
                $"Parameters:pagerduty-integration-key={PagerDutyRoutingKey}",
                $"Parameters:alert-webhook-token={WebhookToken}",
                $"Parameters:scrape-token={ScrapeToken}",
                $"Parameters:jwt-signing-key={SigningKey}",
                "Parameters:prometheus-web-password=apphost-tests-prometheus-password",
                "Parameters:alertmanager-web-password=apphost-tests-alertmanager-password",
                "Parameters:redis-password=apphost-tests-redis-password",
                "Parameters:postgres-password=apphost-tests-postgres-password",
                "Parameters:caller-hash-key=apphost-tests-caller-hash-key-0123456789",
            ],
            cancellationToken);
        // The tests say what failed; the servers' own logs and health-check failures while they start would bury it.
        builder.Services.AddLogging(logging => logging
            .AddFilter("VoiceHive.AppHost.Resources", LogLevel.None)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning));
        // Degraded mode must not shorten the slow PMS answers the alerting test brings about.
        builder.CreateResourceBuilder<ProjectResource>("orchestrator").WithEnvironment("Pms__DegradedTimeout", "00:00:05");
        // No dropped lines: at test speed one would fire CallSuccessRateLow on its own.
        builder.CreateResourceBuilder<ProjectResource>("traffic").WithEnvironment("Traffic__DroppedCallShare", "0");
        // A poison event is dead-lettered within seconds rather than after five 30 s reclaims.
        builder.CreateResourceBuilder<ProjectResource>("worker")
            .WithEnvironment("Consumer__ReclaimAfter", "00:00:01")
            .WithEnvironment("Consumer__ReclaimInterval", "00:00:00.500")
            .WithEnvironment("Consumer__MaxDeliveries", "2");
        App = await builder.BuildAsync(cancellationToken);
        Resources = App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .Where(r => r is not ParameterResource && !r.Annotations.OfType<ExplicitStartupAnnotation>().Any())
            .Select(r => r.Name)
            .ToList();
        _watching = new CancellationTokenSource();
        _ = WatchStatesAsync(_watching.Token);
        await App.StartAsync(cancellationToken);
        try
        {
            foreach (var resource in Resources)
            {
                await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken).WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);
            }
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"Not every resource became healthy:\n{DescribeStates()}", exception);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_watching is not null)
        {
            await _watching.CancelAsync();
        }

        await App.DisposeAsync();
        await Slack.DisposeAsync();
        await PagerDuty.DisposeAsync();
    }

    /// <summary>Each resource instance's latest state and health, for failure messages.</summary>
    public string DescribeStates() => string.Join('\n', _states.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"  {s.Key}: {s.Value}"));

    /// <summary>An HTTP client for a resource's <c>http</c> endpoint, with a bearer token for <paramref name="scope"/> when given.</summary>
    public HttpClient Client(string resource, string? scope = null)
    {
        var client = App.CreateHttpClient(resource, "http");
        if (scope is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", ServiceTokens.Issue(SigningKey, scope, "apphost-tests", TimeSpan.FromHours(1)));
        }

        return client;
    }

    /// <summary>Runs a dashboard command as a person would from the dashboard, with the arguments it asks for.</summary>
    public async Task<ExecuteCommandResult> ExecuteCommandAsync(string resource, string command, IReadOnlyDictionary<string, string>? arguments = null)
    {
        var commands = App.Services.GetRequiredService<ResourceCommandService>();
        var model = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        var declared = model.Annotations.OfType<ResourceCommandAnnotation>().Single(a => a.Name == command).Arguments ?? [];
        var inputs = declared.Select(input => new Aspire.Hosting.InteractionInput
        {
            Name = input.Name,
            Label = input.Label,
            InputType = input.InputType,
            Required = input.Required,
            Options = input.Options,
            AllowCustomChoice = input.AllowCustomChoice,
            Value = arguments?.GetValueOrDefault(input.Name) ?? input.Value,
        }).ToList();
        return await commands.ExecuteCommandAsync(model, command, new Aspire.Hosting.InteractionInputCollection(inputs), TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// Puts an event no handler knows on the services' event stream, straight through Redis: the worker fails it on its
    /// own and dead-letters it.
    /// </summary>
    public async Task PublishPoisonEventAsync(CancellationToken cancellationToken)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(await App.GetConnectionStringAsync("redis", cancellationToken) ?? "");
        await redis.GetDatabase().ExecuteAsync("XADD", "voicehive:events", "*", "type", "poison");
    }

    /// <summary>Prometheus's answer to an instant query: each sample's labels and value.</summary>
    public async Task<IReadOnlyList<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql, CancellationToken cancellationToken)
    {
        using var prometheus = Client("prometheus");
        using var response = await prometheus.PostAsync("/api/v1/query",
            new FormUrlEncodedContent([new KeyValuePair<string, string>("query", promql)]), cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        if (body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus refused {promql}: {body}");
        }

        var data = body.GetProperty("data");
        return data.GetProperty("resultType").GetString() switch
        {
            "vector" => data.GetProperty("result").EnumerateArray()
                .Select(sample => (
                    sample.GetProperty("metric").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString()!),
                    double.Parse(sample.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
                .ToList(),
            "scalar" => [([], double.Parse(data.GetProperty("result")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture))],
            _ => [],
        };
    }

    private async Task WatchStatesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var update in App.ResourceNotifications.WatchAsync(cancellationToken))
            {
                var text = new StringBuilder().Append(update.Snapshot.State?.Text ?? "(no state)");
                if (update.Snapshot.HealthStatus is { } health)
                {
                    text.Append(", ").Append(health);
                }

                if (update.Snapshot.ExitCode is { } exitCode)
                {
                    text.Append(", exit code ").Append(exitCode);
                }

                _states[update.ResourceId] = text.ToString();
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }
}
