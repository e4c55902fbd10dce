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

    /// <summary>Waits until <paramref name="sql"/>'s scalar is <paramref name="expected"/> (what a service writes a moment later).</summary>
    public static Task WaitForAsync(string connectionString, string sql, long expected, TimeSpan? limit = null) =>
        Eventually.Until(() => ScalarAsync(connectionString, sql), value => value == expected,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{sql}' to reach {expected}"), limit, TestContext.Current.CancellationToken);

    /// <summary>The first column of every row, as text.</summary>
    public static async Task<IReadOnlyList<string>> StringsAsync(string connectionString, string sql)
    {
        await using var dataSource = Open(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var values = new List<string>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
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
