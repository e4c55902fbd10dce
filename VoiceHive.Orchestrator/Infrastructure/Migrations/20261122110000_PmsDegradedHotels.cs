using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace VoiceHive.Orchestrator.Infrastructure.Migrations;

/// <summary>
/// Hotels whose PMS access is degraded, one row per firing PMS alert: the worker writes it when it reacts
/// to an alert, every orchestrator replica reads it.
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("20261122110000_PmsDegradedHotels")]
public sealed class PmsDegradedHotels : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE TABLE pms_degraded_hotels (
            hotel_id varchar(64) NOT NULL,
            alert_fingerprint varchar(64) NOT NULL,
            alertname varchar(200) NOT NULL,
            since timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (hotel_id, alert_fingerprint)
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE pms_degraded_hotels;");
}
