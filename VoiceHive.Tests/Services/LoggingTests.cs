using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Services;

public sealed class LoggingTests(SharedServers servers)
{
    [Fact]
    public async Task OutsideDevelopmentTheConsoleWritesJsonLinesWithScopes()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ALERT_WEBHOOK_TOKEN"] = "a-webhook-token",
                ["Monitoring:ScrapeToken"] = "a-scrape-token",
                ["Calls:CallerHashKey"] = "a-production-key-of-some-length",
            });

        var console = app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var json = app.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue;

        Assert.Equal(ConsoleFormatterNames.Json, console.FormatterName);
        Assert.True(json.IncludeScopes);
        Assert.True(json.UseUtcTimestamp);
        Assert.False(json.JsonWriterOptions.Indented);
    }

    [Fact]
    public async Task InDevelopmentTheConsoleStaysReadable()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);

        var console = app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;

        Assert.NotEqual(ConsoleFormatterNames.Json, console.FormatterName);
    }

    [Fact]
    public async Task LogsGoThroughOpenTelemetryWithScopes()
    {
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);

        var providers = app.Services.GetServices<ILoggerProvider>().Select(p => p.GetType().Name).ToList();
        var options = app.Services.GetRequiredService<IOptionsMonitor<OpenTelemetry.Logs.OpenTelemetryLoggerOptions>>().CurrentValue;

        Assert.Contains("OpenTelemetryLoggerProvider", providers);
        Assert.True(options.IncludeScopes);
        Assert.True(options.IncludeFormattedMessage);
    }
}
