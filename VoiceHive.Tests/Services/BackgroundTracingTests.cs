using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using StackExchange.Redis;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

/// <summary>
/// The background loops (outbox relay, event consumer, lag sampler, retention, degraded-hotel refresh)
/// leave nothing in the traces while there is nothing to do, and a pass that does work is one span with its work
/// under it. What is counted is what the services' own tracer providers export. Runs alone: activity sources are
/// process-wide, so another host's loops would show here.
/// </summary>
[Collection(nameof(AloneCollection))]
public sealed class BackgroundTracingTests(SharedServers servers)
{
    private static readonly Dictionary<string, string?> BusyLoops = new()
    {
        ["Retention:Interval"] = "00:00:00.200",
        ["Consumer:ReclaimInterval"] = "00:00:00.200",
        // The scrape-address announcer too (a Redis write every 5 s).
        ["Monitoring:AdvertisedHost"] = "127.0.0.1",
    };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task IdleServicesRecordNoRootSpansFromTheirLoops()
    {
        var spans = new ConcurrentQueue<Activity>();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString, BusyLoops);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, BusyLoops);
        await using var tracedOrchestrator = Capturing(orchestrator, spans);
        await using var tracedWorker = Capturing(worker, spans);
        tracedOrchestrator.CreateClient().Dispose();
        tracedWorker.CreateClient().Dispose();

        // Start-up (migrations) is over once the hosts have started; from now on only the loops run.
        spans.Clear();
        await Task.Delay(TimeSpan.FromSeconds(3), Cancellation);
        // Aspire's Redis tracing turns the commands made outside any span into spans later (every 10 s, and when the
        // tracer provider stops): stopping the hosts makes it hand over what the loops did in these 3 s. The parent
        // factories dispose the derived ones and wait until their containers (and tracer providers) are disposed.
        await orchestrator.DisposeAsync();
        await worker.DisposeAsync();

        var roots = spans.Where(span => span.ParentSpanId == default).Select(span => $"{span.Source.Name}: {span.DisplayName}").ToList();
        Assert.True(roots.Count == 0, "root spans of idle loops: " + string.Join(", ", roots.Distinct()));
    }

    [Fact]
    public async Task ARelayPassIsOneSpanWithItsDatabaseWorkAndEachEventKeepsItsCallsTrace()
    {
        var spans = new ConcurrentQueue<Activity>();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        await using var tracedOrchestrator = Capturing(orchestrator, spans);
        await using var tracedWorker = Capturing(worker, spans);
        tracedWorker.CreateClient().Dispose();
        using var client = tracedOrchestrator.CreateClient();
        spans.Clear();

        var call = await client.StartCallAsync();
        await client.EndAsync(call, "resolved");
        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM processed_events"), count => count == 2,
            "both events to be processed", cancellationToken: Cancellation);
        // The Redis commands' spans are made after their parent ends (every 10 s, and when the tracer provider stops);
        // the parent factories wait until the derived hosts' containers are disposed.
        await orchestrator.DisposeAsync();
        await worker.DisposeAsync();

        // Each provider of the process sees every activity: one span per id.
        var all = spans.GroupBy(span => span.SpanId).Select(group => group.First()).ToList();
        var passes = all.Where(span => span.DisplayName == "relay outbox").ToList();
        Assert.NotEmpty(passes);
        Assert.All(passes, pass =>
        {
            Assert.Equal(default, pass.ParentSpanId);
            Assert.Contains(all, span => span.Source.Name == "Npgsql" && span.ParentSpanId == pass.SpanId);
        });
        Assert.Contains(all, span => span.DisplayName == "XADD" && passes.Any(pass => pass.SpanId == span.ParentSpanId));
        var ended = Assert.Single(all, span => span.DisplayName == "process call.ended");
        var request = Assert.Single(all, span => span.Source.Name == "Microsoft.AspNetCore" && span.DisplayName.StartsWith("POST /api/calls/{id:guid}/end", StringComparison.Ordinal));
        Assert.Equal(request.TraceId, ended.TraceId);
        var consume = Assert.Single(all, span => span.DisplayName == "consume events" && ended.Links.Any(link => link.Context.SpanId == span.SpanId));
        Assert.Equal(default, consume.ParentSpanId);
        Assert.Contains(all, span => span.Source.Name == "Npgsql" && span.ParentSpanId == ended.SpanId);
        var orphans = all.Where(span => span.Source.Name == "Npgsql" && span.ParentSpanId == default)
            .Select(span => $"{span.DisplayName} {span.GetTagItem("db.query.text") ?? span.GetTagItem("db.statement")}").ToList();
        Assert.True(orphans.Count == 0, "database spans outside any pass or request: " + string.Join(" | ", orphans));
    }

    [Fact]
    public async Task EventsAppliedInOneTransactionKeepTheirOwnSpansAndTraces()
    {
        var spans = new ConcurrentQueue<Activity>();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        await using var tracedOrchestrator = Capturing(orchestrator, spans);
        using var client = tracedOrchestrator.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            await client.EndAsync(await client.StartCallAsync(), "resolved");
        }

        // All six events on the stream before the worker starts: its first read takes them in one batch.
        await TestDatabase.WaitForAsync(database, "SELECT count(*) FROM outbox_messages WHERE dispatched_at IS NOT NULL", 6);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        await using var tracedWorker = Capturing(worker, spans);
        tracedWorker.CreateClient().Dispose();
        await TestDatabase.WaitForAsync(database, "SELECT count(*) FROM processed_events", 6);
        await orchestrator.DisposeAsync();
        await worker.DisposeAsync();

        var all = spans.GroupBy(span => span.SpanId).Select(group => group.First()).ToList();
        var pass = Assert.Single(all, span => span.DisplayName == "consume events");
        Assert.Equal(6, pass.GetTagItem("messaging.batch.message_count"));
        Assert.Equal(1, await TestDatabase.ScalarAsync(database, "SELECT count(DISTINCT xmin::text) FROM processed_events"));
        var requests = all.Where(span => span.Source.Name == "Microsoft.AspNetCore" && span.DisplayName.StartsWith("POST /api/calls/{id:guid}/end", StringComparison.Ordinal))
            .Select(span => span.TraceId).ToHashSet();
        var ended = all.Where(span => span.DisplayName == "process call.ended").ToList();
        Assert.Equal(3, ended.Count);
        Assert.All(ended, span =>
        {
            Assert.Contains(span.TraceId, requests);
            Assert.Contains(span.Links, link => link.Context.SpanId == pass.SpanId);
            Assert.Equal("applied", span.GetTagItem("voicehive.event.outcome"));
            Assert.Contains(all, child => child.Source.Name == "Npgsql" && child.ParentSpanId == span.SpanId);
        });
        Assert.Equal(3, ended.Select(span => span.TraceId).Distinct().Count());
        // The worker's start-up (its migrations) runs before the pass, outside it.
        var orphans = all.Where(span => span.Source.Name == "Npgsql" && span.ParentSpanId == default && span.StartTimeUtc >= pass.StartTimeUtc)
            .Select(span => span.DisplayName).ToList();
        Assert.True(orphans.Count == 0, "database spans outside any pass or request: " + string.Join(" | ", orphans));
    }

    [Fact]
    public async Task ABatchRolledBackIsSeenOnItsPassAndItsEventsAreTracedAgainAlone()
    {
        var spans = new ConcurrentQueue<Activity>();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using (var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString))
        {
            orchestrator.CreateClient().Dispose();
        }

        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        await using var tracedWorker = Capturing(worker, spans);
        tracedWorker.CreateClient().Dispose();
        // Three good events and one PostgreSQL refuses (hotel_id is varchar(64)), read together.
        await EventStreams.AddAtOnceAsync(worker.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), database,
            new[] { "grand-plaza", new string('b', 65), "harbor-view", "alpine-lodge" }.Select(hotel => EventStreams.EndedCall(hotel, DateTimeOffset.UtcNow)));
        await TestDatabase.WaitForAsync(database, "SELECT count(*) FROM processed_events", 3);
        await worker.DisposeAsync();

        var all = spans.GroupBy(span => span.SpanId).Select(group => group.First()).ToList();
        var pass = Assert.Single(all, span => span.DisplayName == "consume events" && span.Events.Any(e => e.Name == "batch rolled back"));
        var attempts = all.Where(span => span.DisplayName == "process call.ended" && span.Links.Any(link => link.Context.SpanId == pass.SpanId)).ToList();
        // In the batch, sorted by row, alpine-lodge's event and the failing one (no span for those after it), rolled back;
        // then each of the four alone.
        Assert.Equal(6, attempts.Count);
        Assert.Equal(2, attempts.Count(span => (string?)span.GetTagItem("voicehive.event.outcome") == "rolled_back"));
        Assert.Equal(3, attempts.Count(span => (string?)span.GetTagItem("voicehive.event.outcome") == "applied"));
        Assert.Equal(2, attempts.Count(span => span.Status == ActivityStatusCode.Error));
    }

    [Fact]
    public async Task ARetentionPassThatDeletesIsOneSpanWithItsDatabaseWork()
    {
        var spans = new ConcurrentQueue<Activity>();
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        orchestrator.CreateClient().Dispose();
        var old = Guid.CreateVersion7(DateTimeOffset.UtcNow.AddDays(-10));
        await TestDatabase.ExecuteAsync(database, $"""
            INSERT INTO outbox_messages (id, type, payload, created_at, dispatched_at)
            VALUES ('{old}', 'call.ended', '{"{}"}', now() - interval '10 days', now() - interval '10 days')
            """);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString, BusyLoops);
        await using var tracedWorker = Capturing(worker, spans);
        tracedWorker.CreateClient().Dispose();

        await Eventually.Until(() => TestDatabase.ScalarAsync(database, "SELECT count(*) FROM outbox_messages"), count => count == 0,
            "the old outbox message to be deleted", cancellationToken: Cancellation);
        await worker.DisposeAsync();

        var all = spans.GroupBy(span => span.SpanId).Select(group => group.First()).ToList();
        var pass = Assert.Single(all, span => span.DisplayName == "retain outbox");
        Assert.Equal(default, pass.ParentSpanId);
        Assert.Contains(all, span => span.Source.Name == "Npgsql" && span.ParentSpanId == pass.SpanId);
    }

    /// <summary>The application with a processor that keeps every span its tracer provider records.</summary>
    private static WebApplicationFactory<TProgram> Capturing<TProgram>(WebApplicationFactory<TProgram> app, ConcurrentQueue<Activity> spans)
        where TProgram : class =>
        app.WithWebHostBuilder(builder => builder.ConfigureServices(services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(new Capture(spans)))));

    private sealed class Capture(ConcurrentQueue<Activity> spans) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => spans.Enqueue(data);
    }
}
