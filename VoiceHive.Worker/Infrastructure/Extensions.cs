namespace VoiceHive.Worker.Infrastructure;

internal static class Extensions
{
    public const string DatabaseConnectionName = "voicehivedb";
    public const string RedisConnectionName = "redis";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<WorkerDbContext>(
            DatabaseConnectionName,
            npgsql => npgsql.MigrationsHistoryTable(WorkerDbContext.MigrationsHistoryTable));
        builder.AddRedisClient(RedisConnectionName);
        return builder;
    }
}
