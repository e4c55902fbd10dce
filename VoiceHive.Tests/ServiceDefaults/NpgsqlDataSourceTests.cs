using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.ServiceDefaults;

public sealed class NpgsqlDataSourceTests(SharedServers servers)
{
    [Fact]
    public async Task HotStatementsArePreparedByDefault()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);

        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();

        Assert.Equal(DataClientExtensions.DefaultMaxAutoPrepare, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxAutoPrepare);
    }

    [Fact]
    public async Task TheConnectionStringsOwnSettingWins()
    {
        // 0 turns automatic preparation off (PgBouncer in transaction mode needs that).
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync() + ";Max Auto Prepare=0", servers.Redis.ConnectionString);

        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();

        Assert.Equal(0, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxAutoPrepare);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=3", true)]
    [InlineData("Host=db;maxautoprepare=0", true)]
    [InlineData("Host=db;Maximum Pool Size=50", false)]
    public void OnlyAGivenSettingCounts(string connectionString, bool given) =>
        Assert.Equal(given, DataClientExtensions.SetsMaxAutoPrepare(connectionString));
}
