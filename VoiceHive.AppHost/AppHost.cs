using VoiceHive.AppHost;
using VoiceHive.AppHost.Infrastructure;
using VoiceHive.AppHost.Monitoring;
using VoiceHive.AppHost.Operations;

AppHostConfigurationException.ReportInOneLine();
var builder = DistributedApplication.CreateBuilder(args);

// Containers where Docker or Podman answers, the Debian packages' programs otherwise (Infrastructure__Form overrides).
var form = builder.ChooseInfrastructureForm();
builder.AddRunningSummary(form);

// Secrets, generated on the first run and kept in this AppHost's user secrets (or given as Parameters:<name>); azd
// generates or asks for them when deploying.
var redisPassword = builder.AddSecret("redis-password");
var postgresPassword = builder.AddSecret("postgres-password");
var alertWebhookToken = builder.AddSecret("alert-webhook-token");
var callerHashKey = builder.AddSecret("caller-hash-key");
var scrapeToken = builder.AddSecret("scrape-token");
var credentials = new ServiceCredentials(builder.AddSigningKey("jwt-signing-key"));

var redis = builder.AddRedisServer("redis", form, redisPassword);
var postgres = builder.AddPostgresServer("postgres", form, postgresPassword);
var database = postgres.AddPostgresDatabase("voicehivedb");

var orchestrator = builder.AddService<Projects.VoiceHive_Orchestrator>("orchestrator", form)
    .WithReplicas(2)
    .WithReference(database).WaitFor(database)
    .WithReference(redis).WaitFor(redis)
    .WithServiceTokens(credentials, scrapeToken)
    .WithServiceEnvironment(ServiceEnvironment.Orchestrator<object>(alertWebhookToken, callerHashKey))
    .WithPmsFaultCommands(credentials)
    .WithOperatorTokenCommand(credentials)
    .WithApiReference();

var worker = builder.AddService<Projects.VoiceHive_Worker>("worker", form)
    .WithReference(database).WaitFor(database)
    .WithReference(redis).WaitFor(redis)
    .WithServiceTokens(credentials, scrapeToken)
    .WithDeadLetterCommands(credentials);

// What runs beside the application on a developer's machine: published targets carry the application only, and
// docs/deploy.md says how their monitoring is built from monitoring/.
if (builder.ExecutionContext.IsRunMode)
{
    var monitoring = MonitoringSettings.From(builder);
    var secrets = new MonitoringSecrets(
        alertWebhookToken,
        // Unset, Alertmanager's deliveries to Slack and PagerDuty fail and are logged; the webhook still gets every alert.
        builder.AddParameterOrDefault("slack-webhook-url", "http://127.0.0.1:9/slack-not-configured", secret: true),
        builder.AddParameterOrDefault("pagerduty-integration-key", "pagerduty-not-configured", secret: true),
        scrapeToken,
        builder.AddSecret("prometheus-web-password"),
        builder.AddSecret("alertmanager-web-password"));

    builder.AddTraffic<Projects.VoiceHive_Traffic>("traffic", form, orchestrator, credentials, scrapeToken);

    var redisExporter = builder.AddRedisExporter("redis-exporter", form, redis);
    var postgresExporter = builder.AddPostgresExporter("postgres-exporter", form, postgres);
    var nodeExporter = builder.AddNodeExporter("node-exporter", form);
    var blackboxExporter = builder.AddBlackboxExporter("blackbox-exporter", form, monitoring.Source);
    var alertmanager = builder.AddAlertmanager("alertmanager", form, monitoring, orchestrator, secrets);
    builder.AddPrometheus("prometheus", form, monitoring,
        new PrometheusTargets(alertmanager, redisExporter, postgresExporter, nodeExporter, blackboxExporter, orchestrator, worker), secrets);

    if (form.Containers)
    {
        var jaeger = builder.AddJaeger("jaeger");
        orchestrator.WithEnvironment("OTLP_ENDPOINT", jaeger.GetEndpoint("otlp"));
        worker.WithEnvironment("OTLP_ENDPOINT", jaeger.GetEndpoint("otlp"));
        builder.AddGrafana("grafana", monitoring, builder.AddSecret("grafana-admin-password"), secrets);
    }
}

builder.Build().Run();
