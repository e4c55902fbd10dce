using System.Collections.Concurrent;
using System.Diagnostics;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>One span per turn, with the PMS request and the database work as its children. Runs alone (process-wide activity sources).</summary>
[Collection(nameof(AloneCollection))]
public sealed class TurnTracingTests(SharedServers servers)
{
    [Fact]
    public async Task ATurnIsOneSpanWithPmsAndDatabaseChildren()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "voicehive.orchestrator" or "Npgsql" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var call = await client.StartCallAsync();

        await client.TurnAsync(call, "Please check reservation GR1042");

        var turn = Assert.Single(stopped, a => a.OperationName == "call turn" && a.GetTagItem("voicehive.call.id") as string == call.ToString());
        var children = stopped.Where(a => a.ParentSpanId == turn.SpanId).ToList();
        var pms = Assert.Single(children, a => a.OperationName == "pms reservation_lookup");
        var store = Assert.Single(children, a => a.OperationName == "call turn store");
        Assert.Equal(ActivityKind.Client, pms.Kind);
        Assert.Equal("grand-plaza", pms.GetTagItem("voicehive.hotel_id"));
        Assert.Equal("success", pms.GetTagItem("voicehive.pms.outcome"));
        Assert.Equal("reservation_lookup", turn.GetTagItem("voicehive.intent"));
        Assert.Contains(stopped, a => a.Source.Name == "Npgsql" && a.ParentSpanId == store.SpanId);
        Assert.All(stopped.Where(a => a.TraceId == turn.TraceId), a => Assert.DoesNotContain(a.TagObjects, tag => tag.Value is string s && s.Contains("GR1042", StringComparison.Ordinal)));
    }
}
