using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Stack;

/// <summary><see cref="StackTests"/> on the local-process stack.</summary>
public sealed class LocalProcessStackTests(SharedServers servers) : StackTests, IAsyncLifetime
{
    private ProgrammableHttpServer _slack = null!;
    private ProgrammableHttpServer _pagerDuty = null!;

    public async ValueTask InitializeAsync()
    {
        _slack = await ProgrammableHttpServer.StartAsync();
        _pagerDuty = await ProgrammableHttpServer.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _pagerDuty.DisposeAsync();
    }

    protected override async Task<IVoiceHiveStack> StartStackAsync() => await LocalProcessStack.StartAsync(servers, _slack.Address, _pagerDuty.Address);
}
