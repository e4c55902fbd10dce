[assembly: AssemblyFixture(typeof(VoiceHive.Tests.Infrastructure.SharedServers))]

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL and one Redis for the whole test run, started once and always stopped.
/// Tests isolate themselves with a database each (<see cref="PostgresServer.CreateDatabaseAsync"/>)
/// and their own key prefixes; a test that stops a server starts its own.
/// </summary>
public sealed class SharedServers : IAsyncLifetime
{
    public PostgresServer Postgres { get; } = new();

    public RedisServer Redis { get; } = new();

    public async ValueTask InitializeAsync()
    {
        await Task.WhenAll(Postgres.InitializeAsync().AsTask(), Redis.InitializeAsync().AsTask());
    }

    public async ValueTask DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
