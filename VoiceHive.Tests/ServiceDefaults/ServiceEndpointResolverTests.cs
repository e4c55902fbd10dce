using Microsoft.Extensions.Configuration;
using VoiceHive.ServiceDefaults.Http;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class ServiceEndpointResolverTests
{
    private static readonly ServiceEndpointResolver Resolver = new(new ConfigurationBuilder().AddInMemoryCollection(
        new Dictionary<string, string?>
        {
            ["services:pms:http:0"] = "http://127.0.0.1:5100",
            ["services:orchestrator:http:0"] = "http://10.0.0.5:8080/",
            ["services:orchestrator:https:0"] = "https://orchestrator.internal:8443",
            ["services:prefixed:http:0"] = "http://gateway:80/pms",
            ["services:httpsonly:https:0"] = "https://secure:443",
        }).Build());

    [Theory]
    [InlineData("http://pms/reservations/42?x=1", "http://127.0.0.1:5100/reservations/42?x=1")]
    [InlineData("https+http://orchestrator/api/calls", "https://orchestrator.internal:8443/api/calls")]
    [InlineData("http+https://orchestrator/api/calls", "http://10.0.0.5:8080/api/calls")]
    [InlineData("https+http://pms/rooms", "http://127.0.0.1:5100/rooms")]
    [InlineData("http://prefixed/rooms", "http://gateway/pms/rooms")]
    [InlineData("http://not-configured.example/x", "http://not-configured.example/x")]
    [InlineData("https://api.pagerduty.com/v2/enqueue", "https://api.pagerduty.com/v2/enqueue")]
    public void LogicalAddressesResolveFromConfiguration(string logical, string expected)
    {
        Assert.Equal(new Uri(expected), Resolver.Resolve(new Uri(logical)));
    }

    [Theory]
    [InlineData("https+http://unknown/x", "services:unknown:https:0")]
    [InlineData("http://httpsonly/x", "services:httpsonly:http:0")]
    public void AServiceWithoutTheEndpointAskedForIsAClearError(string logical, string setting)
    {
        var exception = Assert.Throws<InvalidOperationException>(() => Resolver.Resolve(new Uri(logical)));

        Assert.Contains(setting, exception.Message, StringComparison.Ordinal);
    }
}
