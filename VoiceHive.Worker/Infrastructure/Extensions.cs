using VoiceHive.Worker.Events;

namespace VoiceHive.Worker.Infrastructure;

internal static class Extensions
{
    public const string DatabaseConnectionName = "voicehivedb";
    public const string RedisConnectionName = "redis";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddVoiceHiveDbContext<WorkerDbContext>(DatabaseConnectionName, WorkerDbContext.MigrationsHistoryTable);
        builder.AddVoiceHiveRedisClient(RedisConnectionName);

        var services = builder.Services;
        services.AddOptions<ConsumerOptions>().BindConfiguration(ConsumerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton<EventStream>();
        services.AddSingleton<IEventHandler, CallAnalyticsHandler>();
        services.AddSingleton<IEventHandler, AlertFiringHandler>();
        services.AddSingleton<IEventHandler, AlertResolvedHandler>();
        services.AddSingleton<EventConsumer>();
        services.AddHostedService(sp => sp.GetRequiredService<EventConsumer>());
        services.AddHostedService<ConsumerLagSampler>();
        services.AddOptions<Retention.RetentionOptions>().BindConfiguration(Retention.RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<Retention.DataRetention>();
        services.AddHealthChecks().AddCheck<ConsumerHealthCheck>(ConsumerHealthCheck.Name, tags: ["ready"]);
        services.AddValidation();
        return builder;
    }
}
