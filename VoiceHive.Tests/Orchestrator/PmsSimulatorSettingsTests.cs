extern alias orchestrator;

using Microsoft.Extensions.Configuration;
using PmsSimulatorSettings = orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings;
using SimulatorProfile = orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile;

namespace VoiceHive.Tests.Orchestrator;

public sealed class PmsSimulatorSettingsTests
{
    [Fact]
    public void Without_configuration_the_simulator_starts_with_the_normal_profile()
    {
        var settings = new PmsSimulatorSettings(Configuration());

        Assert.Equal(SimulatorProfile.Normal, settings.Default);
    }

    [Fact]
    public void Configuration_sets_the_starting_profile_and_reset_returns_to_it()
    {
        var settings = new PmsSimulatorSettings(Configuration(("Pms:Simulator:LatencyMedianMs", "0"), ("Pms:Simulator:LatencyP95Ms", "0")));
        Assert.Equal(new SimulatorProfile(0, 0, 0), settings.Default);

        settings.Set(null, new SimulatorProfile(2500, 3000, 0.5));
        settings.Set("grand-plaza", new SimulatorProfile(10, 20, 1));
        settings.Reset();

        Assert.Equal(new SimulatorProfile(0, 0, 0), settings.Default);
        Assert.Empty(settings.Hotels);
    }

    [Theory]
    [InlineData("LatencyMedianMs", "-1")]
    [InlineData("LatencyMedianMs", "NaN")]
    [InlineData("LatencyMedianMs", "90000")]
    [InlineData("LatencyP95Ms", "50")]
    [InlineData("FailureRate", "1.5")]
    public void An_impossible_profile_is_refused(string key, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => new PmsSimulatorSettings(Configuration(($"Pms:Simulator:{key}", value))));

        Assert.Contains("Pms:Simulator", error.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

    [Fact]
    public async Task The_orchestrator_does_not_start_with_an_impossible_profile()
    {
        await using var app = VoiceHive.Tests.Infrastructure.OrchestratorApplication.For(
            "Host=127.0.0.1;Port=1;Database=unused", "127.0.0.1:1", new Dictionary<string, string?> { ["Pms:Simulator:FailureRate"] = "2" });

        var error = Assert.ThrowsAny<Exception>(() => app.Services);

        Assert.Contains("Pms:Simulator", error.ToString(), StringComparison.Ordinal);
    }
}
