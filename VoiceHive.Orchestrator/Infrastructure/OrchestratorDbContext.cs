using Microsoft.EntityFrameworkCore;
using VoiceHive.Orchestrator.Calls;
using VoiceHive.Orchestrator.Hotels;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>
/// The orchestrator's tables. Hotels, calls and turns are mapped here; the append-only and upsert
/// tables (pms_requests, alerts, alert_events, outbox_messages) are created by the migrations and
/// written with SQL (see <c>Alerts/AlertStore.cs</c>, <c>Sla/SlaReporter.cs</c>).
/// </summary>
public sealed class OrchestratorDbContext : DbContext
{
    /// <summary>Each service keeps its own migration history in the shared database.</summary>
    public const string MigrationsHistoryTable = "__orchestrator_migrations";

    public OrchestratorDbContext(DbContextOptions<OrchestratorDbContext> options)
        : base(options)
    {
        // Inside a transaction the code opened, EF Core wraps each SaveChanges in a savepoint: SAVEPOINT before it and
        // RELEASE after, two more round trips for every call started and every turn stored. Nothing here carries on
        // in a transaction after a failed save (each one is rolled back whole), so the savepoint buys nothing. Set in
        // the constructor, the setting survives context pooling: the pool restores what the constructor left on
        // every lease.
        Database.AutoSavepointsEnabled = false;
    }

    public DbSet<Hotel> Hotels => Set<Hotel>();

    public DbSet<Call> Calls => Set<Call>();

    public DbSet<CallTurn> Turns => Set<CallTurn>();

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

        modelBuilder.Entity<Call>(call =>
        {
            call.ToTable("calls");
            call.HasKey(c => c.Id);
            call.Property(c => c.Id).HasColumnName("id").ValueGeneratedNever();
            call.Property(c => c.HotelId).HasColumnName("hotel_id").HasMaxLength(64);
            call.Property(c => c.CallerHash).HasColumnName("caller_hash").HasMaxLength(64);
            call.Property(c => c.CallerMasked).HasColumnName("caller_masked").HasMaxLength(32);
            call.Property(c => c.Language).HasColumnName("language").HasMaxLength(35);
            call.Property(c => c.Status).HasColumnName("status").HasMaxLength(16);
            call.Property(c => c.StartedAt).HasColumnName("started_at");
            call.Property(c => c.EndedAt).HasColumnName("ended_at");
            call.Property(c => c.Outcome).HasColumnName("outcome").HasMaxLength(32);
            call.Property(c => c.FailureReason).HasColumnName("failure_reason").HasMaxLength(32);
            call.Property(c => c.Succeeded).HasColumnName("succeeded");
            call.Property(c => c.TurnCount).HasColumnName("turn_count");
            call.Property(c => c.PmsFailed).HasColumnName("pms_failed");
            call.Property(c => c.HadError).HasColumnName("had_error");
            call.HasOne<Hotel>().WithMany().HasForeignKey(c => c.HotelId).OnDelete(DeleteBehavior.Restrict);
            call.HasMany(c => c.Turns).WithOne().HasForeignKey(t => t.CallId).OnDelete(DeleteBehavior.Cascade);
            call.HasIndex(c => new { c.HotelId, c.EndedAt });
        });

        modelBuilder.Entity<CallTurn>(turn =>
        {
            turn.ToTable("call_turns");
            turn.HasKey(t => t.Id);
            turn.Property(t => t.Id).HasColumnName("id").UseIdentityByDefaultColumn();
            turn.Property(t => t.CallId).HasColumnName("call_id");
            turn.Property(t => t.Sequence).HasColumnName("sequence");
            turn.Property(t => t.Utterance).HasColumnName("utterance").HasMaxLength(CallsApi.MaxUtteranceLength);
            turn.Property(t => t.Intent).HasColumnName("intent").HasMaxLength(32);
            turn.Property(t => t.Reply).HasColumnName("reply").HasMaxLength(1000);
            turn.Property(t => t.TransferredToFrontDesk).HasColumnName("transferred_to_front_desk");
            turn.Property(t => t.CreatedAt).HasColumnName("created_at");
            turn.HasIndex(t => new { t.CallId, t.Sequence }).IsUnique();
        });
    }
}
