using Microsoft.EntityFrameworkCore;

namespace VoiceHive.Worker.Infrastructure;

public sealed class WorkerDbContext(DbContextOptions<WorkerDbContext> options) : DbContext(options)
{
    /// <summary>Each service keeps its own migration history in the shared database.</summary>
    public const string MigrationsHistoryTable = "__worker_migrations";

    public DbSet<ProcessedEvent> ProcessedEvents => Set<ProcessedEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ProcessedEvent>(processed =>
        {
            processed.ToTable("processed_events");
            processed.HasKey(p => new { p.EventId, p.Handler });
            processed.Property(p => p.EventId).HasColumnName("event_id");
            processed.Property(p => p.Handler).HasColumnName("handler").HasMaxLength(100);
            processed.Property(p => p.ProcessedAt).HasColumnName("processed_at").HasDefaultValueSql("now()");
        });
    }
}
