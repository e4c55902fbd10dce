using VoiceHive.Orchestrator.Alerts;
using VoiceHive.Orchestrator.Calls;
using VoiceHive.Orchestrator.Pms;
using VoiceHive.Orchestrator.Sla;
using VoiceHive.ServiceDefaults;

namespace VoiceHive.Orchestrator.Infrastructure;

internal static class Extensions
{
    public const string DatabaseConnectionName = "voicehivedb";
    public const string RedisConnectionName = "redis";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddVoiceHiveDbContext<OrchestratorDbContext>(DatabaseConnectionName, OrchestratorDbContext.MigrationsHistoryTable);
        builder.AddVoiceHiveRedisClient(RedisConnectionName);

        var services = builder.Services;
        var development = builder.Environment.IsDevelopment();
        services.AddOptions<CallsOptions>()
            .BindConfiguration(CallsOptions.Section)
            .PostConfigure(options =>
            {
                if (development && string.IsNullOrEmpty(options.CallerHashKey))
                {
                    options.CallerHashKey = "development-only-caller-hash-key";
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<PmsOptions>().BindConfiguration(PmsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SlaOptions>().Configure<IConfiguration>(SlaOptions.Bind).ValidateDataAnnotations().ValidateOnStart();
        // AlertWebhook:Token, or ALERT_WEBHOOK_TOKEN where that is unset or blank (a blank one would lock Alertmanager out).
        services.AddOptions<AlertWebhookOptions>()
            .BindConfiguration(AlertWebhookOptions.Section)
            .Configure<IConfiguration>((options, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(options.Token))
                {
                    options.Token = configuration["ALERT_WEBHOOK_TOKEN"];
                }
            })
            .Validate(options => development || !string.IsNullOrWhiteSpace(options.Token),
                "ALERT_WEBHOOK_TOKEN is not set: outside Development the alert webhook needs a bearer token, and the service does not start without one.")
            .ValidateOnStart();
        services.AddAlertWebhookAuthentication();

        services.AddSingleton<OrchestratorMetrics>();
        services.AddHostedService<CallCounterBaseline>();
        services.AddSingleton<CallerPrivacy>();
        services.AddSingleton<ActiveCallStore>();
        services.AddSingleton<IIntentClassifier, RuleBasedIntentClassifier>();
        services.AddSingleton<PmsClient>();
        services.AddSingleton<DegradedHotels>();
        services.AddHostedService(sp =>
        {
            var hotels = sp.GetRequiredService<DegradedHotels>();
            sp.GetRequiredService<OrchestratorMetrics>().ObserveDegradedHotels(() => hotels.Hotels);
            return hotels;
        });
        services.AddSingleton<LastKnownReservations>();
        services.AddSingleton<Conversation>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<SlaReporter>();
        services.AddOptions<Events.OutboxOptions>()
            .BindConfiguration(Events.OutboxOptions.Section)
            .Configure<IConfiguration>((options, configuration) => options.Stream = configuration["Events:Stream"] is { Length: > 0 } stream ? stream : options.Stream)
            .ValidateDataAnnotations()
            .Validate(options => options.StreamMaxLength > 2 * options.BatchSize, "Outbox:StreamMaxLength must be more than twice Outbox:BatchSize.")
            .ValidateOnStart();
        services.AddSingleton<Events.OutboxRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<Events.OutboxRelay>());
        services.AddHealthChecks().AddCheck<Events.EventStreamHealthCheck>(Events.EventStreamHealthCheck.Name, tags: ["ready"]);
        services.AddPropertyManagementSystem(builder.Configuration);

        services.AddSingleton<IApiErrorCounter>(sp => sp.GetRequiredService<OrchestratorMetrics>());
        services.AddClientRateLimits();
        services.AddValidation();
        services.AddOpenApi(options => options.AddDocumentTransformer<BearerSecurityTransformer>().AddOperationTransformer<BearerSecurityTransformer>());
        return builder;
    }

    /// <summary>A real PMS over HTTP when <c>services:pms</c> is configured, the simulator otherwise.</summary>
    private static void AddPropertyManagementSystem(this IServiceCollection services, IConfiguration configuration)
    {
        if (configuration.GetSection("services:pms").Exists())
        {
            services.AddHttpClient<IPropertyManagementSystem, HttpPropertyManagementSystem>(client =>
                client.BaseAddress = new Uri(HttpPropertyManagementSystem.BaseAddress + "/"));
        }
        else
        {
            // Built now, so that a bad Pms:Simulator setting stops start-up instead of failing every PMS request.
            services.AddSingleton(new PmsSimulatorSettings(configuration));
            services.AddSingleton<SimulatorSync>();
            services.AddHostedService(sp => sp.GetRequiredService<SimulatorSync>());
            services.AddSingleton<IPropertyManagementSystem, SimulatedPropertyManagementSystem>();
        }
    }

    public static bool UsesPmsSimulator(this IServiceProvider services) => services.GetService<PmsSimulatorSettings>() is not null;
}
