using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace VoiceHive.Benchmarks;

/// <summary>
/// 3. Alerts per second through the Alertmanager webhook (validated, stored idempotently with their timeline
/// entry and outbox message, in Alertmanager-sized notifications), against the cost floor of durability:
/// the same rows inserted with raw, batched Npgsql commands (one statement per notification), alternating with it in the same run.
/// </summary>
public static class WebhookIngest
{
    private const int AlertsPerNotification = 10;
    private const int Concurrency = 4;
    private const int Rounds = 4;
    private static readonly TimeSpan Slice = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan WarmupPass = TimeSpan.FromSeconds(10);
    private const int MaxWarmupPasses = 12;

    /// <summary>Tiered-compilation CPU in one warm-up pass (20 s of wall time) below which the orchestrator counts as warm: 1 %.</summary>
    private static readonly TimeSpan JitQuiet = TimeSpan.FromMilliseconds(200);

    public static async Task<Figure> RunAsync(BenchmarkEnvironment environment, BenchmarkOptions options)
    {
        var settings = await environment.CreateSettingsAsync("ingest");
        await using var orchestrator = await ServiceProcess.OrchestratorAsync(settings);
        await using var data = settings.OpenDataSource();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = orchestrator.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchmarkEnvironment.WebhookToken);

        // Unmeasured passes of each first: a fresh orchestrator spends its first minute or so compiling and recompiling its
        // request path (tiered compilation) and preparing its statements (per pooled connection, after 5 uses), which is
        // start-up, not ingest, and would fall on the first runs' webhook side only. Passes go on until its
        // tiered-compilation threads used at most JitQuiet of CPU in one, as in the telemetry benchmark.
        var warmupPasses = await JitWarmup.UntilCompiledAsync([("orchestrator", orchestrator)], async pass =>
        {
            await LoopAsync(WarmupPass, $"warmhook{pass}", (body, _) => PostAsync(http, body));
            await LoopAsync(WarmupPass, $"warmraw{pass}", (notification, _) => InsertAsync(data, notification));
        }, JitQuiet, MaxWarmupPasses);

        List<double> webhook = [], raw = [], ratios = [];
        long acknowledged = 0;
        for (var run = 1; run <= options.Runs; run++)
        {
            var tag = string.Create(CultureInfo.InvariantCulture, $"r{run}{Guid.NewGuid().ToString("N")[..6]}");
            var (hook, bare) = await AlternateAsync(tag, notification => PostAsync(http, notification), notification => InsertAsync(data, notification));

            // Durable: every acknowledged alert is a row.
            acknowledged += hook.Notifications * AlertsPerNotification;
            await using (var count = data.CreateCommand("SELECT count(*) FROM alerts WHERE fingerprint LIKE @prefix"))
            {
                count.Parameters.AddWithValue("prefix", tag + "h%");
                var stored = (long)(await count.ExecuteScalarAsync())!;
                if (stored != hook.Notifications * AlertsPerNotification)
                {
                    throw new InvalidOperationException($"{hook.Notifications * AlertsPerNotification} alerts were acknowledged, {stored} stored.");
                }
            }

            var (ours, floor) = (hook.AlertsPerSecond, bare.AlertsPerSecond);
            webhook.Add(ours);
            raw.Add(floor);
            ratios.Add(ours / floor);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: {ours:F0} vs {floor:F0} alerts/s → {ours / floor:F3}"));
        }

        if (options.IngestHttpFloor)
        {
            await CompareWithHttpFloorAsync(http, data, options.Runs);
        }

        return new Figure("3. Webhook ingest", $"alerts per second, notifications of {AlertsPerNotification}, {Concurrency} senders", "alerts/s",
            Stats.Median(webhook), "raw batched Npgsql inserts", Stats.Median(raw), ratios, "≥ 0.85", f => f.MedianRatio >= 0.85,
            string.Create(CultureInfo.InvariantCulture,
                $"Webhook: POST /monitoring/alerts/webhook with the bearer token, each alert a new (fingerprint, startsAt), so each is stored with its timeline entry and outbox message; {acknowledged} alerts acknowledged and every one found in PostgreSQL afterwards. Floor: per notification one statement (atomic, so no transaction) inserting the same alert, timeline and outbox rows from arrays as plain inserts (no conflict handling, no payload built in SQL), with the same Npgsql settings as the services (Max Auto Prepare 64). After unmeasured {WarmupPass.TotalSeconds:F0} s passes of each until the orchestrator's tiered compilation was over (its tiered-compilation threads used at most {JitQuiet.TotalMilliseconds:F0} ms of CPU in a pair of passes; {warmupPasses} pairs), each run alternates the two in {Slice.TotalSeconds:F0} s slices, {Rounds} of each in ABBA order ({Rounds * Slice.TotalSeconds:F0} s measured per side), so that drift and the outbox relay's backlog from the slice before fall on both alike. Durable PostgreSQL (fsync and synchronous commit on)."));
    }

    /// <summary>
    /// For profiling (<c>--ingest-http-floor</c>), not in the report: the webhook against the same floor behind a bare
    /// HTTP endpoint (Kestrel in this process, the body deserialized, the statement run, 200), in the same ABBA slices.
    /// What separates the two is the service's own request path (authentication, rate limiting, validation, the
    /// idempotent statement, telemetry, logging); what both pay, HTTP on both ends, is no longer counted against it.
    /// </summary>
    private static async Task CompareWithHttpFloorAsync(HttpClient webhook, NpgsqlDataSource data, int runs)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        await using var floor = builder.Build();
        floor.MapPost("/ingest", async (HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var alerts = body.RootElement.GetProperty("alerts").EnumerateArray().Select(alert => new Alert(
                alert.GetProperty("fingerprint").GetString()!,
                alert.GetProperty("startsAt").GetDateTimeOffset(),
                alert.GetProperty("labels").Deserialize<Dictionary<string, string>>()!,
                alert.GetProperty("annotations").Deserialize<Dictionary<string, string>>()!,
                alert.GetProperty("generatorURL").GetString()!)).ToList();
            await InsertAsync(data, new Notification(alerts));
            return Results.Ok();
        });
        await floor.StartAsync();
        var address = floor.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(address) };
        Task Send(Notification notification) => PostAsync(http, notification, "ingest");

        await LoopAsync(WarmupPass, "warmfloorhttp", (notification, _) => Send(notification));
        for (var run = 1; run <= runs; run++)
        {
            var tag = string.Create(CultureInfo.InvariantCulture, $"x{run}{Guid.NewGuid().ToString("N")[..6]}");
            var (hook, bare) = await AlternateAsync(tag, notification => PostAsync(webhook, notification), Send);
            var (ours, floorRate) = (hook.AlertsPerSecond, bare.AlertsPerSecond);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"http floor run {run}: webhook {ours:F0} vs floor behind HTTP {floorRate:F0} alerts/s → {ours / floorRate:F3}"));
        }

        await floor.StopAsync();
    }

    /// <summary>
    /// The two sides in short slices, <see cref="Rounds"/> of each in ABBA order (the first side first in the odd rounds),
    /// so that the machine's drift and the outbox relay's backlog from the slice before fall on both alike. The first
    /// side's alerts are tagged <c>{tag}h…</c>.
    /// </summary>
    private static async Task<(Throughput First, Throughput Second)> AlternateAsync(string tag, Func<Notification, Task> first, Func<Notification, Task> second)
    {
        var sides = new Throughput[] { new(0, TimeSpan.Zero), new(0, TimeSpan.Zero) };
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var side in round % 2 == 0 ? [0, 1] : (int[])[1, 0])
            {
                var (notifications, elapsed) = await LoopAsync(Slice, $"{tag}{(side == 0 ? 'h' : 'f')}{round}",
                    (notification, _) => side == 0 ? first(notification) : second(notification));
                sides[side] = new(sides[side].Notifications + notifications, sides[side].Elapsed + elapsed);
            }
        }

        return (sides[0], sides[1]);
    }

    private sealed record Throughput(long Notifications, TimeSpan Elapsed)
    {
        public double AlertsPerSecond => Notifications * AlertsPerNotification / Elapsed.TotalSeconds;
    }

    private static async Task PostAsync(HttpClient http, Notification notification, string path = "monitoring/alerts/webhook")
    {
        using var content = new StringContent(notification.ToJson(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(path, content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The webhook answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task InsertAsync(NpgsqlDataSource data, Notification notification)
    {
        // One statement is atomic on its own: no transaction round trips.
        await using var insert = data.CreateCommand("""
            WITH input AS (
                SELECT * FROM unnest(@fingerprints, @startsAt, @alertnames, @severities, @hotels, @labels, @annotations, @generators, @messageIds, @payloads)
                    AS t(fingerprint, starts_at, alertname, severity, hotel_id, labels, annotations, generator_url, message_id, payload)
            ), stored AS (
                INSERT INTO alerts (fingerprint, starts_at, status, alertname, severity, hotel_id, labels, annotations, generator_url)
                SELECT fingerprint, starts_at, 'firing', alertname, severity, hotel_id, labels, annotations, generator_url FROM input
                RETURNING id, fingerprint
            ), timeline AS (
                INSERT INTO alert_events (alert_id, event) SELECT id, 'received' FROM stored
            )
            INSERT INTO outbox_messages (id, type, payload) SELECT input.message_id, 'alert.firing', input.payload FROM input JOIN stored USING (fingerprint)
            """);
        var alerts = notification.Alerts;
        insert.Parameters.AddWithValue("fingerprints", alerts.Select(a => a.Fingerprint).ToArray());
        insert.Parameters.AddWithValue("startsAt", alerts.Select(a => a.StartsAt).ToArray());
        insert.Parameters.AddWithValue("alertnames", alerts.Select(a => a.Labels["alertname"]).ToArray());
        insert.Parameters.AddWithValue("severities", alerts.Select(a => a.Labels["severity"]).ToArray());
        insert.Parameters.AddWithValue("hotels", alerts.Select(a => a.Labels["hotel_id"]).ToArray());
        insert.Parameters.AddWithValue("labels", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, alerts.Select(a => JsonSerializer.Serialize(a.Labels)).ToArray());
        insert.Parameters.AddWithValue("annotations", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, alerts.Select(a => JsonSerializer.Serialize(a.Annotations)).ToArray());
        insert.Parameters.AddWithValue("generators", alerts.Select(a => a.GeneratorUrl).ToArray());
        insert.Parameters.AddWithValue("messageIds", alerts.Select(_ => Guid.CreateVersion7()).ToArray());
        insert.Parameters.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Jsonb,
            alerts.Select(a => JsonSerializer.Serialize(new { a.Fingerprint, a.StartsAt, status = "firing", alertName = a.Labels["alertname"], a.Labels }, JsonSerializerOptions.Web)).ToArray());
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary><see cref="Concurrency"/> senders, each sending notifications of new alerts back to back for <paramref name="duration"/>.</summary>
    private static async Task<(long Notifications, TimeSpan Elapsed)> LoopAsync(TimeSpan duration, string tag, Func<Notification, CancellationToken, Task> send)
    {
        long notifications = 0, next = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                await send(Notification.Create(tag, Interlocked.Increment(ref next)), CancellationToken.None);
                Interlocked.Increment(ref notifications);
            }
        }));
        return (notifications, clock.Elapsed);
    }

    private sealed record Alert(string Fingerprint, DateTimeOffset StartsAt, Dictionary<string, string> Labels, Dictionary<string, string> Annotations, string GeneratorUrl);

    /// <summary>
    /// One Alertmanager notification (webhook version 4) of new firing alerts. Its JSON is written only for a side that
    /// sends it over HTTP, so that the raw floor does not pay for a body it never sends.
    /// </summary>
    private sealed record Notification(IReadOnlyList<Alert> Alerts)
    {
        public static Notification Create(string tag, long sequence)
        {
            var startsAt = DateTimeOffset.UtcNow;
            var alerts = Enumerable.Range(0, AlertsPerNotification).Select(i =>
            {
                var hotel = CallTraffic.SeededHotels[i % CallTraffic.SeededHotels.Length];
                return new Alert(
                    string.Create(CultureInfo.InvariantCulture, $"{tag}{sequence:x10}{i:x2}"),
                    startsAt,
                    new Dictionary<string, string>
                    {
                        ["alertname"] = "PMSResponseTimeSlow",
                        ["severity"] = "warning",
                        ["service"] = "voicehive-orchestrator",
                        ["hotel_id"] = hotel,
                    },
                    new Dictionary<string, string>
                    {
                        ["summary"] = "PMS response time is slow",
                        ["description"] = $"95th percentile PMS response time is 2.50s for hotel {hotel}",
                        ["runbook_url"] = "docs/runbooks/PMSResponseTimeSlow.md",
                    },
                    "http://prometheus:9090/graph?g0.expr=histogram_quantile");
            }).ToList();
            return new Notification(alerts);
        }

        public string ToJson() =>
            JsonSerializer.Serialize(new
            {
                version = "4",
                groupKey = "{}:{alertname=\"PMSResponseTimeSlow\", service=\"voicehive-orchestrator\"}",
                truncatedAlerts = 0,
                status = "firing",
                receiver = "voicehive-webhook",
                groupLabels = new Dictionary<string, string> { ["alertname"] = "PMSResponseTimeSlow", ["service"] = "voicehive-orchestrator" },
                commonLabels = new Dictionary<string, string> { ["alertname"] = "PMSResponseTimeSlow", ["severity"] = "warning" },
                commonAnnotations = new Dictionary<string, string> { ["summary"] = "PMS response time is slow" },
                externalURL = "http://alertmanager:9093",
                alerts = Alerts.Select(a => new
                {
                    status = "firing",
                    labels = a.Labels,
                    annotations = a.Annotations,
                    startsAt = a.StartsAt,
                    endsAt = DateTimeOffset.MinValue,
                    generatorURL = a.GeneratorUrl,
                    fingerprint = a.Fingerprint,
                }),
            });
    }
}
