using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace VoiceHive.Orchestrator.Infrastructure.Migrations;

[DbContext(typeof(OrchestratorDbContext))]
internal sealed class OrchestratorDbContextModelSnapshot : ModelSnapshot
{
    protected override void BuildModel(ModelBuilder modelBuilder)
    {
        modelBuilder
            .HasAnnotation("ProductVersion", "10.0.14")
            .HasAnnotation("Relational:MaxIdentifierLength", 63);

        modelBuilder.Entity("VoiceHive.Orchestrator.Hotels.Hotel", b =>
        {
            b.Property<string>("Id").HasMaxLength(64).HasColumnType("character varying(64)").HasColumnName("id");
            b.Property<DateTimeOffset>("CreatedAt").ValueGeneratedOnAdd().HasColumnType("timestamp with time zone").HasColumnName("created_at").HasDefaultValueSql("now()");
            b.Property<string>("Name").IsRequired().HasMaxLength(200).HasColumnType("character varying(200)").HasColumnName("name");
            b.Property<string>("TimeZone").IsRequired().HasMaxLength(64).HasColumnType("character varying(64)").HasColumnName("time_zone");
            b.HasKey("Id");
            b.ToTable("hotels");
        });
    }
}
