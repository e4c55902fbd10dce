namespace VoiceHive.Orchestrator.Infrastructure;

internal static class Extensions
{
    public const string DatabaseConnectionName = "voicehivedb";
    public const string RedisConnectionName = "redis";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<OrchestratorDbContext>(
            DatabaseConnectionName,
            npgsql => npgsql.MigrationsHistoryTable(OrchestratorDbContext.MigrationsHistoryTable));
        builder.AddRedisClient(RedisConnectionName);
        return builder;
    }
}
