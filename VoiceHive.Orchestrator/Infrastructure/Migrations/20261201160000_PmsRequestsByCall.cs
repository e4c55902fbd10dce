using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace VoiceHive.Orchestrator.Infrastructure.Migrations;

/// <summary>
/// An index on <c>pms_requests.call_id</c>. Ending a call reads its PMS requests by call id, and deleting a call
/// (retention) sets theirs to null: without it each did a sequential scan of the whole table, so a call's end cost
/// grew with every call before it (122,674 scans reading 7.5 billion rows in 15 minutes of the memory benchmark,
/// docs/benchmarks.md). A plain CREATE INDEX, in the migration's transaction: it holds writes to the table while it
/// builds, which on a large table is worth planning for (CONCURRENTLY cannot run inside that transaction).
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("20261201160000_PmsRequestsByCall")]
public sealed class PmsRequestsByCall : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("CREATE INDEX ix_pms_requests_call_id ON pms_requests (call_id);");

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("DROP INDEX ix_pms_requests_call_id;");
}
