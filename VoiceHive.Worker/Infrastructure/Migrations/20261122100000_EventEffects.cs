using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace VoiceHive.Worker.Infrastructure.Migrations;

/// <summary>Hourly call analytics per hotel, written by the event consumer and read with SQL.</summary>
[DbContext(typeof(WorkerDbContext))]
[Migration("20261122100000_EventEffects")]
public sealed class EventEffects : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE TABLE call_hourly_stats (
            hotel_id varchar(64) NOT NULL,
            hour timestamptz NOT NULL,
            calls bigint NOT NULL,
            successes bigint NOT NULL,
            failures bigint NOT NULL,
            duration_seconds_sum double precision NOT NULL,
            pms_requests bigint NOT NULL,
            pms_seconds_sum double precision NOT NULL,
            pms_buckets bigint[] NOT NULL,
            PRIMARY KEY (hotel_id, hour)
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE call_hourly_stats;");
}
