using Npgsql;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>Raw SQL against a test database, for arranging data and checking what a service stored.</summary>
public static class TestDatabase
{
    public static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var dataSource = Open(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var dataSource = Open(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    // Named, so that the pool's name (a label of Npgsql's process-wide metrics) is not the connection string; and
    // untraced, so that the harness's queries never show among the services' spans (Npgsql's source is process-wide).
    private static NpgsqlDataSource Open(string connectionString) =>
        PostgresServer.Untraced(new NpgsqlDataSourceBuilder(connectionString) { Name = "test-harness" }).Build();
}
