using System.Collections.Concurrent;
using System.Diagnostics;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Worker;

/// <summary>W3C trace context travels with every event: one call's trace holds spans of both services. Runs alone (process-wide sources).</summary>
[Collection(nameof(AloneCollection))]
public sealed class CrossServiceTraceTests(SharedServers servers)
{
    [Fact]
    public async Task OneCallsTraceHoldsSpansFromBothServices()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "voicehive.orchestrator" or "voicehive.worker" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var sameDatabaseOrchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString);
        await using var worker = WorkerApplication.For(database, servers.Redis.ConnectionString);
        worker.CreateClient().Dispose();
        using var client = sameDatabaseOrchestrator.CreateClient();
        var call = await client.StartCallAsync();

        using var end = new HttpRequestMessage(HttpMethod.Post, $"/api/calls/{call}/end")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { outcome = "resolved" }),
        };
        end.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        (await client.SendAsync(end, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();

        var traceId = ActivityTraceId.CreateFromString("4bf92f3577b34da6a3ce929d0e0e4736");
        var consumed = await Eventually.Until(
            () => Task.FromResult(stopped.FirstOrDefault(a => a.Source.Name == "voicehive.worker" && a.OperationName == "process call.ended" && a.TraceId == traceId)),
            activity => activity is not null, "the worker's span in the call's trace", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ActivityKind.Consumer, consumed!.Kind);
        Assert.Contains(stopped, a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId);
    }
}
