using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>The schema both services' migrations build, checked as PostgreSQL sees it.</summary>
public sealed class SchemaTests(SharedServers servers)
{
    /// <summary>
    /// A foreign key without an index whose leading columns are its own makes every look-up of a parent's rows, and
    /// every delete of a parent, scan the child table: ending a call read pms_requests that way, at a cost that grew
    /// with every call before it.
    /// </summary>
    [Fact]
    public async Task EveryForeignKeyHasAnIndexLedByItsColumns()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using (var orchestrator = OrchestratorApplication.For(database, servers.Redis.ConnectionString))
        await using (var worker = WorkerApplication.For(database, servers.Redis.ConnectionString))
        {
            orchestrator.CreateClient().Dispose();
            worker.CreateClient().Dispose();
        }

        var unindexed = await TestDatabase.StringsAsync(database, """
            SELECT c.conrelid::regclass::text || ' (' || c.conname || ')'
            FROM pg_constraint c
            WHERE c.contype = 'f'
              AND NOT EXISTS (
                  SELECT 1 FROM pg_index i
                  WHERE i.indrelid = c.conrelid
                    AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                    AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
            ORDER BY 1
            """);
        var foreignKeys = await TestDatabase.ScalarAsync(database, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'");

        Assert.True(foreignKeys >= 4, $"only {foreignKeys} foreign keys: the query looks at the wrong schema");
        Assert.Empty(unindexed);
    }
}
