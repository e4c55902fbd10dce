using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace VoiceHive.Orchestrator.Infrastructure.Migrations;

/// <summary>
/// The tables the worker writes and the orchestrator reads. The orchestrator's migrations own every table
/// both services use, so neither depends on which one starts first; the worker's own migrations hold only
/// what it alone reads (processed_events).
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("20261122110000_WorkerTables")]
public sealed class WorkerTables : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        -- Hotels whose PMS access is degraded: one row per firing PMS alert.
        CREATE TABLE pms_degraded_hotels (
            hotel_id varchar(64) NOT NULL,
            alert_fingerprint varchar(64) NOT NULL,
            alertname varchar(200) NOT NULL,
            since timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (hotel_id, alert_fingerprint)
        );

        -- Hourly call analytics per hotel; pms_buckets counts PMS latencies by the bounds
        -- 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10 s and above (eleven buckets).
        CREATE TABLE call_hourly_stats (
            hotel_id varchar(64) NOT NULL,
            hour timestamptz NOT NULL,
            calls bigint NOT NULL,
            successes bigint NOT NULL,
            failures bigint NOT NULL,
            duration_seconds_sum double precision NOT NULL,
            pms_requests bigint NOT NULL,
            pms_failures bigint NOT NULL,
            pms_seconds_sum double precision NOT NULL,
            pms_buckets bigint[] NOT NULL,
            PRIMARY KEY (hotel_id, hour)
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE call_hourly_stats; DROP TABLE pms_degraded_hotels;");
}
