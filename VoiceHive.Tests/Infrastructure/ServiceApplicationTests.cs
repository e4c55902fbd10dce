using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>What the test hosts themselves promise, so that the suite runs the same on any developer's machine.</summary>
public sealed class ServiceApplicationTests(SharedServers servers)
{
    /// <summary>
    /// A watched file costs an inotify instance per host, and Linux allows 128 per user by default: with the user-secrets
    /// file <c>dotnet user-jwts</c> writes, a full run of test hosts reached it and failed. No test host watches a file.
    /// </summary>
    [Fact]
    public async Task NoTestHostWatchesAConfigurationFile()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);

        var configuration = (IConfigurationRoot)app.Services.GetRequiredService<IConfiguration>();
        var files = configuration.Providers.OfType<FileConfigurationProvider>().ToList();

        Assert.Contains(files, file => file.Source.Path == "appsettings.json");
        Assert.All(files, file => Assert.False(file.Source.ReloadOnChange, $"{file.Source.Path} is watched"));
    }
}
