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

        NpgsqlModelBuilderExtensions.UseIdentityByDefaultColumns(modelBuilder);

        modelBuilder.Entity("VoiceHive.Orchestrator.Calls.Call", b =>
        {
            b.Property<Guid>("Id").HasColumnType("uuid").HasColumnName("id");
            b.Property<string>("CallerHash").IsRequired().HasMaxLength(64).HasColumnType("character varying(64)").HasColumnName("caller_hash");
            b.Property<string>("CallerMasked").IsRequired().HasMaxLength(32).HasColumnType("character varying(32)").HasColumnName("caller_masked");
            b.Property<DateTimeOffset?>("EndedAt").HasColumnType("timestamp with time zone").HasColumnName("ended_at");
            b.Property<string>("FailureReason").HasMaxLength(32).HasColumnType("character varying(32)").HasColumnName("failure_reason");
            b.Property<bool>("HadError").HasColumnType("boolean").HasColumnName("had_error");
            b.Property<string>("HotelId").IsRequired().HasMaxLength(64).HasColumnType("character varying(64)").HasColumnName("hotel_id");
            b.Property<string>("Language").IsRequired().HasMaxLength(35).HasColumnType("character varying(35)").HasColumnName("language");
            b.Property<string>("Outcome").HasMaxLength(32).HasColumnType("character varying(32)").HasColumnName("outcome");
            b.Property<bool>("PmsFailed").HasColumnType("boolean").HasColumnName("pms_failed");
            b.Property<DateTimeOffset>("StartedAt").HasColumnType("timestamp with time zone").HasColumnName("started_at");
            b.Property<string>("Status").IsRequired().HasMaxLength(16).HasColumnType("character varying(16)").HasColumnName("status");
            b.Property<bool?>("Succeeded").HasColumnType("boolean").HasColumnName("succeeded");
            b.Property<int>("TurnCount").HasColumnType("integer").HasColumnName("turn_count");
            b.HasKey("Id");
            b.HasIndex("HotelId", "EndedAt");
            b.ToTable("calls");
        });

        modelBuilder.Entity("VoiceHive.Orchestrator.Calls.CallTurn", b =>
        {
            b.Property<long>("Id").ValueGeneratedOnAdd().HasColumnType("bigint").HasColumnName("id");
            NpgsqlPropertyBuilderExtensions.UseIdentityByDefaultColumn(b.Property<long>("Id"));
            b.Property<Guid>("CallId").HasColumnType("uuid").HasColumnName("call_id");
            b.Property<DateTimeOffset>("CreatedAt").HasColumnType("timestamp with time zone").HasColumnName("created_at");
            b.Property<string>("Intent").IsRequired().HasMaxLength(32).HasColumnType("character varying(32)").HasColumnName("intent");
            b.Property<string>("Reply").IsRequired().HasMaxLength(1000).HasColumnType("character varying(1000)").HasColumnName("reply");
            b.Property<int>("Sequence").HasColumnType("integer").HasColumnName("sequence");
            b.Property<bool>("TransferredToFrontDesk").HasColumnType("boolean").HasColumnName("transferred_to_front_desk");
            b.Property<string>("Utterance").IsRequired().HasMaxLength(2000).HasColumnType("character varying(2000)").HasColumnName("utterance");
            b.HasKey("Id");
            b.HasIndex("CallId", "Sequence").IsUnique();
            b.ToTable("call_turns");
        });

        modelBuilder.Entity("VoiceHive.Orchestrator.Hotels.Hotel", b =>
        {
            b.Property<string>("Id").HasMaxLength(64).HasColumnType("character varying(64)").HasColumnName("id");
            b.Property<DateTimeOffset>("CreatedAt").ValueGeneratedOnAdd().HasColumnType("timestamp with time zone").HasColumnName("created_at").HasDefaultValueSql("now()");
            b.Property<string>("Name").IsRequired().HasMaxLength(200).HasColumnType("character varying(200)").HasColumnName("name");
            b.Property<string>("TimeZone").IsRequired().HasMaxLength(64).HasColumnType("character varying(64)").HasColumnName("time_zone");
            b.HasKey("Id");
            b.ToTable("hotels");
        });

        modelBuilder.Entity("VoiceHive.Orchestrator.Calls.Call", b =>
        {
            b.HasOne("VoiceHive.Orchestrator.Hotels.Hotel", null).WithMany().HasForeignKey("HotelId").OnDelete(DeleteBehavior.Restrict).IsRequired();
        });

        modelBuilder.Entity("VoiceHive.Orchestrator.Calls.CallTurn", b =>
        {
            b.HasOne("VoiceHive.Orchestrator.Calls.Call", null).WithMany("Turns").HasForeignKey("CallId").OnDelete(DeleteBehavior.Cascade).IsRequired();
        });

        modelBuilder.Entity("VoiceHive.Orchestrator.Calls.Call", b => b.Navigation("Turns"));
    }
}
