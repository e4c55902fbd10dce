using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace VoiceHive.Worker.Infrastructure.Migrations;

[DbContext(typeof(WorkerDbContext))]
internal sealed class WorkerDbContextModelSnapshot : ModelSnapshot
{
    protected override void BuildModel(ModelBuilder modelBuilder)
    {
        modelBuilder
            .HasAnnotation("ProductVersion", "10.0.14")
            .HasAnnotation("Relational:MaxIdentifierLength", 63);

        modelBuilder.Entity("VoiceHive.Worker.Infrastructure.ProcessedEvent", b =>
        {
            b.Property<Guid>("EventId").HasColumnType("uuid").HasColumnName("event_id");
            b.Property<string>("Handler").HasMaxLength(100).HasColumnType("character varying(100)").HasColumnName("handler");
            b.Property<DateTimeOffset>("ProcessedAt").ValueGeneratedOnAdd().HasColumnType("timestamp with time zone").HasColumnName("processed_at").HasDefaultValueSql("now()");
            b.HasKey("EventId", "Handler");
            b.ToTable("processed_events");
        });
    }
}
