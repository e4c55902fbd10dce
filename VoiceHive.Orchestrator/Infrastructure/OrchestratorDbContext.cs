using Microsoft.EntityFrameworkCore;
using VoiceHive.Orchestrator.Hotels;

namespace VoiceHive.Orchestrator.Infrastructure;

public sealed class OrchestratorDbContext(DbContextOptions<OrchestratorDbContext> options) : DbContext(options)
{
    /// <summary>Each service keeps its own migration history in the shared database.</summary>
    public const string MigrationsHistoryTable = "__orchestrator_migrations";

    public DbSet<Hotel> Hotels => Set<Hotel>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Hotel>(hotel =>
        {
            hotel.ToTable("hotels");
            hotel.HasKey(h => h.Id);
            hotel.Property(h => h.Id).HasColumnName("id").HasMaxLength(64);
            hotel.Property(h => h.Name).HasColumnName("name").HasMaxLength(200);
            hotel.Property(h => h.TimeZone).HasColumnName("time_zone").HasMaxLength(64);
            hotel.Property(h => h.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
        });
    }
}
