extern alias orchestrator;

using Microsoft.Extensions.DependencyInjection;
using VoiceHive.Tests.Infrastructure;
using PmsSimulatorSettings = orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings;
using SimulatorProfile = orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>The business metrics the alert rules read, checked to the unit after a scripted mix of calls.</summary>
public sealed class BusinessMetricsTests(SharedServers servers)
{
    [Fact]
    public async Task AScriptedMixReadsBackExactly()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();
        var simulator = app.Services.GetRequiredService<PmsSimulatorSettings>();

        // 7 calls resolved after one reservation lookup each: 7 successes, 7 PMS requests.
        for (var i = 0; i < 7; i++)
        {
            var call = await client.StartCallAsync();
            await client.TurnAsync(call, $"Can you check reservation GR{1100 + i}?");
            await client.EndAsync(call, "resolved");
        }

        // 2 calls whose PMS lookup fails: 2 failures (pms_unavailable), 2 failed PMS requests.
        simulator.Set(OrchestratorDriver.Hotel, new SimulatorProfile(0, 0, 1));
        for (var i = 0; i < 2; i++)
        {
            var call = await client.StartCallAsync();
            await client.TurnAsync(call, "Is my booking GR1200 confirmed?");
            await client.EndAsync(call, "transferred");
        }

        simulator.Set(OrchestratorDriver.Hotel, new SimulatorProfile(0, 0, 0));
        // 1 call with three availability questions, then the line drops: 1 failure (dropped), 3 PMS requests.
        var dropped = await client.StartCallAsync();
        for (var i = 0; i < 3; i++)
        {
            await client.TurnAsync(dropped, "Any rooms available tomorrow?");
        }

        await client.EndAsync(dropped, "dropped");

        var exposition = await client.GetStringAsync("/monitoring/metrics", TestContext.Current.CancellationToken);
        var samples = Exposition.Parse(exposition);

        Assert.Equal(7, samples.Sum("voicehive_call_success_total", ("hotel_id", "grand-plaza")));
        Assert.Equal(3, samples.Sum("voicehive_call_failures_total", ("hotel_id", "grand-plaza")));
        // The guide's CallSuccessRateLow adds the two without aggregating: they carry the same labels, hotel_id alone.
        Assert.All(samples.Series("voicehive_call_success_total").Concat(samples.Series("voicehive_call_failures_total")),
            labels => Assert.Equal(["hotel_id"], labels.Keys));
        Assert.Equal(7, samples.Sum("voicehive_calls_ended_total", ("hotel_id", "grand-plaza"), ("outcome", "resolved")));
        Assert.Equal(2, samples.Sum("voicehive_calls_ended_total", ("reason", "pms_unavailable")));
        Assert.Equal(1, samples.Sum("voicehive_calls_ended_total", ("reason", "dropped")));
        Assert.Equal(10, samples.Sum("voicehive_calls_ended_total"));
        Assert.Equal(12, samples.Sum("voicehive_pms_response_seconds_count"));
        Assert.Equal(2, samples.Sum("voicehive_pms_response_seconds_count", ("outcome", "error")));
        Assert.Equal(10, samples.Sum("voicehive_pms_response_seconds_count", ("outcome", "success")));
        Assert.Equal(9, samples.Sum("voicehive_pms_response_seconds_count", ("operation", "reservation_lookup")));
        Assert.Equal(12, samples.Sum("voicehive_pms_response_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(2, samples.Sum("voicehive_errors_total", ("component", "pms"), ("error_type", "simulated")));
        Assert.Equal(10, samples.Sum("voicehive_call_duration_seconds_count"));
        Assert.Equal(0, samples.Sum("voicehive_calls_active"));
        Assert.Equal(3, samples.Sum("voicehive_call_turns_total", ("intent", "availability")));
        Assert.Equal(9, samples.Sum("voicehive_call_turns_total", ("intent", "reservation_lookup")));
        // No label carries a phone number, a call id or free text.
        Assert.All(samples.Labels.Keys, label => Assert.Contains(label, (string[])["hotel_id", "outcome", "reason", "operation", "component", "error_type", "intent", "le", "alertname", "severity", "status"]));
    }
}

/// <summary>The SLA ratio's two counters before any call.</summary>
public sealed class CallCounterBaselineTests(SharedServers servers)
{
    [Fact]
    public async Task EveryHotelHasBothCountersAtZeroBeforeItsFirstCall()
    {
        await using var app = await OrchestratorDriver.StartAsync(servers);
        using var client = app.CreateClient();

        var samples = await Eventually.Until(
            async () => Exposition.Parse(await client.GetStringAsync("/monitoring/metrics", TestContext.Current.CancellationToken)),
            exposition => exposition.Series("voicehive_call_failures_total").Count() == 4, "the counters of the four seeded hotels",
            cancellationToken: TestContext.Current.CancellationToken);

        foreach (var counter in (string[])["voicehive_call_success_total", "voicehive_call_failures_total"])
        {
            Assert.Equal(["alpine-lodge", "city-central", "grand-plaza", "harbor-view"], samples.Series(counter).Select(labels => labels["hotel_id"]).Order());
            Assert.Equal(0, samples.Sum(counter));
        }
    }
}

/// <summary>A minimal reader of the Prometheus text format, for assertions.</summary>
internal sealed class Exposition
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public Dictionary<string, HashSet<string>> Labels { get; } = [];

    public static Exposition Parse(string text)
    {
        var exposition = new Exposition();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
        {
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.LastIndexOf(' ');
            var name = brace >= 0 ? line[..brace] : line[..space];
            var labels = new Dictionary<string, string>();
            if (brace >= 0)
            {
                var body = line[(brace + 1)..line.LastIndexOf('}')];
                foreach (System.Text.RegularExpressions.Match match in System.Text.RegularExpressions.Regex.Matches(body, "([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\""))
                {
                    labels[match.Groups[1].Value] = match.Groups[2].Value;
                    if (!exposition.Labels.TryGetValue(match.Groups[1].Value, out var values))
                    {
                        exposition.Labels[match.Groups[1].Value] = values = [];
                    }

                    values.Add(match.Groups[2].Value);
                }
            }

            exposition._samples.Add((name, labels, double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
        }

        return exposition;
    }

    public IEnumerable<Dictionary<string, string>> Series(string name) => _samples.Where(s => s.Name == name).Select(s => s.Labels);

    public double Sum(string name, params (string Label, string Value)[] match) => _samples
        .Where(s => s.Name == name && match.All(m => s.Labels.GetValueOrDefault(m.Label) == m.Value))
        .Sum(s => s.Value);
}
