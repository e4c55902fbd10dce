extern alias orchestrator;

using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using orchestrator::VoiceHive.Orchestrator.Infrastructure;
using VoiceHive.Tests.Infrastructure;

namespace VoiceHive.Tests.Orchestrator;

/// <summary>
/// A scripted call's whole telemetry stream (every trace, metric and log record exported over OTLP,
/// and every log message with its state and scopes) holds neither the caller's number nor what they said,
/// nor any credential: the JWT, the scrape token, the webhook token; nor a value PostgreSQL quotes in an error.
/// Runs alone for the same reason as <see cref="Services.OtlpExportTests"/>.
/// </summary>
[Collection(nameof(AloneCollection))]
public sealed class PrivacyTests(SharedServers servers)
{
    private const string Number = "+447700900987";
    private const string Utterance = "Hello, this is Margaret Thistlewood, is my booking GR1042 still fine";
    private const string ScrapeToken = "privacy-scrape-token-5c1d";
    private const string WebhookToken = "privacy-webhook-token-9e2a";

    [Fact]
    public async Task NoCallerNumberOrUtteranceReachesLogsTracesOrMetrics()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync();
        var logs = new CapturingLoggerProvider();
        var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString,
            new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.HttpEndpoint.ToString(),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["Logging:LogLevel:Default"] = "Debug",
                ["Monitoring:ScrapeToken"] = ScrapeToken,
                ["ALERT_WEBHOOK_TOKEN"] = WebhookToken,
            });
        var withLogs = app.WithWebHostBuilder(builder => builder.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(logs)));
        string businessMetrics;
        string jwt;
        string refusedState;
        using (var client = withLogs.CreateClient())
        {
            jwt = client.DefaultRequestHeaders.Authorization!.Parameter!;
            var call = await client.StartCallAsync(number: Number);
            await client.TurnAsync(call, Utterance);
            await client.TurnAsync(call, "Margaret again, what time is check-out?");
            await client.EndAsync(call, "resolved");
            // PostgreSQL quotes the value it refuses, and Npgsql records a failing command's exception on its span.
            await using (var refusal = withLogs.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand("SELECT $1::integer"))
            {
                refusal.Parameters.Add(new NpgsqlParameter { Value = Number });
                var refused = await Assert.ThrowsAsync<PostgresException>(() => refusal.ExecuteScalarAsync(cancellationToken));
                Assert.Contains(Number, refused.MessageText, StringComparison.Ordinal);
                refusedState = refused.SqlState;

                // EF Core's failure logs and the 500 handler's log write the exception's text.
                await using var scope = withLogs.Services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
                await Assert.ThrowsAsync<PostgresException>(() => db.Database.ExecuteSqlAsync($"SELECT {Number}::integer", cancellationToken));
                await Assert.ThrowsAsync<PostgresException>(() => db.Database.SqlQuery<int>($"SELECT {Number}::integer AS \"Value\"").ToListAsync(cancellationToken));
                var handler = Assert.Single(scope.ServiceProvider.GetServices<IExceptionHandler>());
                // A client that accepts no JSON: the problem details writer declines, and the handler still answers.
                var failed = new DefaultHttpContext { RequestServices = scope.ServiceProvider, Request = { Headers = { Accept = "text/html" } }, Response = { Body = new MemoryStream() } };
                Assert.True(await handler.TryHandleAsync(failed, new InvalidOperationException("A handler failed.", refused), cancellationToken));
                Assert.Equal(StatusCodes.Status500InternalServerError, failed.Response.StatusCode);
            }

            // Refused credentials are as secret as accepted ones: a wrong scrape token, a JWT at the webhook.
            using (await client.GetAsync("/metrics", cancellationToken))
            using (await client.PostAsync("/monitoring/alerts/webhook", new StringContent(AlertWebhookTests.Payload("firing")), cancellationToken))
            {
            }

            using var scrape = withLogs.CreateClient().WithToken(ScrapeToken);
            businessMetrics = await scrape.GetStringAsync("/monitoring/metrics", cancellationToken);
            using var alertmanager = withLogs.CreateClient().WithToken(WebhookToken);
            using var delivered = await alertmanager.PostAsync("/monitoring/alerts/webhook",
                new StringContent(AlertWebhookTests.Payload("firing"), Encoding.UTF8, "application/json"), cancellationToken);
            Assert.True(delivered.IsSuccessStatusCode);
        }

        await withLogs.DisposeAsync();
        await app.DisposeAsync();

        var exported = receiver.Received.SelectMany(r => r.Body).ToArray();
        Assert.NotEmpty(receiver.ReceivedOn("/v1/traces"));
        Assert.NotEmpty(receiver.ReceivedOn("/v1/logs"));
        Assert.NotEmpty(logs.Lines);
        foreach (var secret in (string[])[Number, Number[1..], "7700900987", "Margaret", "Thistlewood", "what time is check-out",
            jwt, jwt.Split('.')[2], ScrapeToken, WebhookToken])
        {
            Assert.True(Encoding.UTF8.GetBytes(secret) is var bytes && exported.AsSpan().IndexOf(bytes) < 0, $"'{secret}' was exported over OTLP");
            Assert.DoesNotContain(logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, businessMetrics, StringComparison.Ordinal);
        }

        // Each failure was logged, naming the error without quoting it: the two commands EF ran (once each) and the 500.
        Assert.Equal(2, logs.Lines.Count(line => line.StartsWith("VoiceHive.ServiceDefaults.Data.CommandFailureLog: ", StringComparison.Ordinal)
            && line.Contains("SQLSTATE " + refusedState, StringComparison.Ordinal)));
        Assert.Contains(logs.Lines, line => line.Contains("answered 500", StringComparison.Ordinal)
            && line.Contains("System.InvalidOperationException: A handler failed. ---> Npgsql.PostgresException: SQLSTATE " + refusedState, StringComparison.Ordinal));

        // The refused command's span was exported, its exception event naming the error without quoting it.
        Assert.True(exported.AsSpan().IndexOf(Encoding.UTF8.GetBytes("SQLSTATE " + refusedState)) >= 0, "the refused command's span was not exported with its error");
    }

    /// <summary>Every log line as text, with its structured state and scopes.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = new StringBuilder($"{category}: {formatter(state, exception)} {exception}");
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    foreach (var (key, value) in values)
                    {
                        line.Append(' ').Append(key).Append('=').Append(value);
                    }
                }

                provider._scopes.ForEachScope((scope, builder) => builder.Append(" scope=").Append(scope), line);
                provider.Lines.Enqueue(line.ToString());
            }
        }
    }
}
