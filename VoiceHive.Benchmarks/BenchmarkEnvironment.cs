using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace VoiceHive.Benchmarks;

/// <summary>
/// What every benchmark shares: a durable PostgreSQL (fsync on, as in production) and a Redis with AOF, from
/// the Debian packages on loopback, and an OTLP/HTTP sink that accepts and discards telemetry so that the
/// services export as they would to a collector. Each benchmark gets its own database and event stream, gone
/// before the next benchmark starts (<see cref="SettleAsync"/>).
/// </summary>
public sealed class BenchmarkEnvironment : IAsyncDisposable
{
    public const string WebhookToken = "bench-webhook-token";
    public const string ScrapeToken = "bench-scrape-token";
    private const string CallerHashKey = "benchmark-caller-hash-key-0123456789";

    /// <summary>The services' signing key in this run (as the AppHost's jwt-signing-key parameter would be).</summary>
    private static readonly string SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The call channel's token, and an operator's: valid for a day, longer than any benchmark run.</summary>
    public static readonly string CallsToken = AppHost.ServiceTokens.Issue(SigningKey, AppHost.ServiceTokens.Calls, "bench-gateway", TimeSpan.FromDays(1));

    public static readonly string OperationsToken = AppHost.ServiceTokens.Issue(SigningKey, AppHost.ServiceTokens.Operations, "bench-operator", TimeSpan.FromDays(1));

    private readonly WebApplication _otlpSink;
    private readonly IReadOnlyDictionary<string, string> _extra;
    private readonly System.Runtime.CompilerServices.StrongBox<long> _otlpRequests;
    private readonly List<(string Database, string Stream)> _created = [];

    private BenchmarkEnvironment(PostgresServer postgres, RedisServer redis, WebApplication otlpSink, System.Runtime.CompilerServices.StrongBox<long> otlpRequests,
        IReadOnlyDictionary<string, string> extra)
    {
        _extra = extra;
        Postgres = postgres;
        Redis = redis;
        _otlpSink = otlpSink;
        _otlpRequests = otlpRequests;
    }

    public PostgresServer Postgres { get; }

    public RedisServer Redis { get; }

    public Uri OtlpEndpoint => new(_otlpSink.Urls.First());

    /// <summary>OTLP export requests received so far (to show that telemetry was exported).</summary>
    public long OtlpRequests => Interlocked.Read(ref _otlpRequests.Value);

    /// <summary>Starts the servers; <paramref name="extra"/> is added to every service's environment (eng/bench.sh --env, for profiling).</summary>
    public static async Task<BenchmarkEnvironment> StartAsync(IReadOnlyDictionary<string, string> extra)
    {
        var postgres = new PostgresServer(durable: true);
        await postgres.InitializeAsync();
        var redis = new RedisServer(persistent: true);
        await redis.InitializeAsync();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var sink = builder.Build();
        var requests = new System.Runtime.CompilerServices.StrongBox<long>();
        // OTLP/HTTP: an empty protobuf body is a valid Export*ServiceResponse (nothing rejected).
        sink.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            Interlocked.Increment(ref requests.Value);
            context.Response.ContentType = "application/x-protobuf";
        });
        await sink.StartAsync();
        Console.WriteLine($"PostgreSQL :{postgres.Port} (durable), Redis :{redis.Port} (AOF), OTLP sink {sink.Urls.First()}");
        return new BenchmarkEnvironment(postgres, redis, sink, requests, extra);
    }

    /// <summary>A fresh database and stream, and the environment the AppHost would give a service for them.</summary>
    public async Task<ServiceSettings> CreateSettingsAsync(string name)
    {
        var database = await Postgres.CreateDatabaseAsync("bench_" + name);
        var stream = "voicehive:bench:" + new NpgsqlConnectionStringBuilder(database).Database;
        lock (_created)
        {
            _created.Add((database, stream));
        }

        // The settings the AppHost gives the services, from its own definition, and what a benchmark needs besides.
        var environment = new Dictionary<string, string>(
            AppHost.ServiceEnvironment.Common(SigningKey, ScrapeToken, text => text)
                .Concat(AppHost.ServiceEnvironment.Orchestrator(WebhookToken, CallerHashKey))
                .Select(setting => KeyValuePair.Create(setting.Name, setting.Value)))
        {
            ["ConnectionStrings__voicehivedb"] = database + ";Maximum Pool Size=50",
            ["ConnectionStrings__redis"] = Redis.ConnectionString,
            ["Events__Stream"] = stream,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            // Every benchmark client is one client to the rate limiter: the limits would measure themselves.
            ["RateLimiting__Calls__PermitLimit"] = "1000000",
            ["RateLimiting__Webhook__PermitLimit"] = "1000000",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = OtlpEndpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["TRACE_SAMPLE_RATE"] = "1.0",
        };
        return new ServiceSettings(database, stream, environment).With([.. _extra.Select(e => (e.Key, e.Value))]);
    }

    /// <summary>
    /// Between benchmarks: drops the databases and streams made since the last call, then has PostgreSQL write its dirty
    /// buffers out (CHECKPOINT). Otherwise one benchmark's leftovers fall on the next one's measured passes: the ingest
    /// benchmark leaves gigabytes of new rows that autovacuum and the checkpointer work through for many minutes.
    /// </summary>
    public async Task SettleAsync()
    {
        (string Database, string Stream)[] created;
        lock (_created)
        {
            created = [.. _created];
            _created.Clear();
        }

        await using var admin = new NpgsqlConnection(Postgres.AdminConnectionString);
        await admin.OpenAsync();
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        var server = redis.GetServers()[0];
        foreach (var (database, stream) in created)
        {
            var name = new NpgsqlConnectionStringBuilder(database).Database;
            await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin))
            {
                await drop.ExecuteNonQueryAsync();
            }

            // The stream, its dead letters, the raw loops' streams, the simulator's state: all named after the stream.
            await foreach (var key in server.KeysAsync(pattern: stream + "*"))
            {
                await redis.GetDatabase().KeyDeleteAsync(key);
            }
        }

        await using var checkpoint = new NpgsqlCommand("CHECKPOINT", admin);
        await checkpoint.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _otlpSink.DisposeAsync();
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

/// <summary>A benchmark's database, event stream and service environment.</summary>
public sealed record ServiceSettings(string Database, string Stream, IReadOnlyDictionary<string, string> Environment)
{
    public ServiceSettings With(params (string Key, string Value)[] changes)
    {
        var environment = new Dictionary<string, string>(Environment);
        foreach (var (key, value) in changes)
        {
            environment[key] = value;
        }

        return this with { Environment = environment };
    }

    /// <summary>The simulated PMS answers at once, so that a figure is the services' own cost.</summary>
    public ServiceSettings WithoutPmsLatency() => With(("Pms__Simulator__LatencyMedianMs", "0"), ("Pms__Simulator__LatencyP95Ms", "0"));

    public NpgsqlDataSource OpenDataSource() =>
        new NpgsqlDataSourceBuilder(Database + ";Maximum Pool Size=50;Max Auto Prepare=64") { Name = "benchmark-runner" }.Build();

    public string Describe() => string.Join(' ', Environment
        .Where(e => e.Key is "METRICS_ENABLED" or "TRACING_ENABLED" or "TRACE_SAMPLE_RATE")
        .Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key}={e.Value}")));
}

internal static class BearerTokens
{
    /// <summary>The client, sending <paramref name="token"/> as its bearer token.</summary>
    public static HttpClient WithToken(this HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }
}
