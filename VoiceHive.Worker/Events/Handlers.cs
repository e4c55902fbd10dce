using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace VoiceHive.Worker.Events;

/// <summary>
/// <c>call.ended</c>: the call joins its hotel's hourly aggregate (calls, successes, failures, duration,
/// PMS requests with a latency histogram for percentiles).
/// </summary>
public sealed class CallAnalyticsHandler : IEventHandler
{
    /// <summary>Upper bounds of the PMS latency buckets, in seconds; the last bucket is everything above.</summary>
    public static readonly double[] PmsBucketBounds = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10];

    public string EventType => "call.ended";

    /// <summary>The hourly row the call adds to.</summary>
    public string LockKey(JsonElement payload) =>
        string.Create(CultureInfo.InvariantCulture, $"call_hourly_stats/{HotelOf(payload)}/{HourOf(payload):O}");

    public async Task<string?> HandleAsync(JsonElement payload, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var hotelId = HotelOf(payload);
        var started = payload.GetProperty("startedAt").GetDateTimeOffset();
        var ended = payload.GetProperty("endedAt").GetDateTimeOffset();
        var succeeded = payload.GetProperty("succeeded").GetBoolean();
        var pmsSeconds = payload.TryGetProperty("pmsSeconds", out var timings) ? timings.EnumerateArray().Select(t => t.GetDouble()).ToArray() : [];
        var buckets = new long[PmsBucketBounds.Length + 1];
        foreach (var seconds in pmsSeconds)
        {
            var index = Array.FindIndex(PmsBucketBounds, bound => seconds <= bound);
            buckets[index < 0 ? PmsBucketBounds.Length : index]++;
        }

        await using var upsert = new NpgsqlCommand("""
            INSERT INTO call_hourly_stats AS s (hotel_id, hour, calls, successes, failures, duration_seconds_sum, pms_requests, pms_failures, pms_seconds_sum, pms_buckets)
            VALUES (@hotel, @hour, 1, @successes, @failures, @duration, @pmsRequests, @pmsFailures, @pmsSum, @buckets)
            ON CONFLICT (hotel_id, hour) DO UPDATE SET
                calls = s.calls + 1,
                successes = s.successes + EXCLUDED.successes,
                failures = s.failures + EXCLUDED.failures,
                duration_seconds_sum = s.duration_seconds_sum + EXCLUDED.duration_seconds_sum,
                pms_requests = s.pms_requests + EXCLUDED.pms_requests,
                pms_failures = s.pms_failures + EXCLUDED.pms_failures,
                pms_seconds_sum = s.pms_seconds_sum + EXCLUDED.pms_seconds_sum,
                pms_buckets = (SELECT array_agg(a + b ORDER BY i) FROM unnest(s.pms_buckets, EXCLUDED.pms_buckets) WITH ORDINALITY AS t(a, b, i))
            """, connection, transaction);
        upsert.Parameters.AddWithValue("hotel", hotelId);
        upsert.Parameters.AddWithValue("hour", HourOf(payload));
        upsert.Parameters.AddWithValue("successes", succeeded ? 1 : 0);
        upsert.Parameters.AddWithValue("failures", succeeded ? 0 : 1);
        upsert.Parameters.AddWithValue("duration", Math.Max(0, (ended - started).TotalSeconds));
        upsert.Parameters.AddWithValue("pmsRequests", (long)pmsSeconds.Length);
        upsert.Parameters.AddWithValue("pmsFailures", payload.TryGetProperty("pmsFailures", out var failed) ? failed.GetInt64() : 0L);
        upsert.Parameters.AddWithValue("pmsSum", pmsSeconds.Sum());
        upsert.Parameters.AddWithValue("buckets", NpgsqlDbType.Array | NpgsqlDbType.Bigint, buckets);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        return null;
    }

    private static string HotelOf(JsonElement payload) =>
        payload.GetProperty("hotelId").GetString() ?? throw new InvalidEventException("call.ended without hotelId");

    /// <summary>The UTC hour the call ended in: its row's key, computed once for the lock key and the row.</summary>
    private static DateTimeOffset HourOf(JsonElement payload)
    {
        var ended = payload.GetProperty("endedAt").GetDateTimeOffset().UtcDateTime;
        return new DateTimeOffset(ended.Year, ended.Month, ended.Day, ended.Hour, 0, 0, TimeSpan.Zero);
    }
}

/// <summary>
/// <c>alert.firing</c>: a PMS alert for a hotel (alert name starting with PMS, or label component=pms, with
/// a <c>hotel_id</c> label) puts that hotel's PMS access into degraded mode, unless the alert was resolved
/// meanwhile; every alert gets a timeline entry.
/// </summary>
/// <remarks>
/// Two workers can hold an alert's firing and its resolution in batches of their own. Both handlers lock the alert's
/// row first, so that one waits for the other's transaction; and the orchestrator marks an alert resolved before
/// its <c>alert.resolved</c> event exists. So a firing applied after the resolution sees the alert resolved and
/// changes nothing, and a resolution applied after the firing sees its row and lifts it.
/// </remarks>
public sealed class AlertFiringHandler : IEventHandler
{
    public string EventType => "alert.firing";

    public string LockKey(JsonElement payload) => AlertEvent.LockKey(payload);

    public async Task<string?> HandleAsync(JsonElement payload, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var alert = AlertEvent.From(payload);
        if (alert.IsPmsAlert && alert.HotelId is { } hotel)
        {
            if (await AlertEvent.LockAsync(connection, transaction, alert.AlertId, cancellationToken) != "firing")
            {
                await AlertEvent.RecordAsync(connection, transaction, alert.AlertId, "no_reaction", "the alert was resolved before its reaction was applied",
                    cancellationToken);
                return null;
            }

            await using var degrade = new NpgsqlCommand("""
                INSERT INTO pms_degraded_hotels (hotel_id, alert_fingerprint, alertname) VALUES (@hotel, @fingerprint, @alertname)
                ON CONFLICT DO NOTHING;
                INSERT INTO alert_events (alert_id, event, detail) VALUES (@alertId, 'reaction_applied', @detail);
                """, connection, transaction);
            degrade.Parameters.AddWithValue("hotel", hotel);
            degrade.Parameters.AddWithValue("fingerprint", alert.Fingerprint);
            degrade.Parameters.AddWithValue("alertname", alert.AlertName);
            degrade.Parameters.AddWithValue("alertId", alert.AlertId);
            degrade.Parameters.AddWithValue("detail", $"PMS degraded mode for hotel {hotel}: shorter timeout, answers from last known data where safe");
            await degrade.ExecuteNonQueryAsync(cancellationToken);
            return "pms_degraded_mode";
        }

        await AlertEvent.RecordAsync(connection, transaction, alert.AlertId, "no_reaction", "no automatic reaction for this alert", cancellationToken);
        return null;
    }
}

/// <summary>
/// <c>alert.resolved</c>: lifts the degraded mode the firing alert put on, and closes the timeline; not while a later
/// firing of the same alert (same fingerprint, new start) is still firing.
/// </summary>
public sealed class AlertResolvedHandler : IEventHandler
{
    public string EventType => "alert.resolved";

    public string LockKey(JsonElement payload) => AlertEvent.LockKey(payload);

    public async Task<string?> HandleAsync(JsonElement payload, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var alert = AlertEvent.From(payload);
        if (alert.HotelId is not { } hotel)
        {
            return null;
        }

        await AlertEvent.LockAsync(connection, transaction, alert.AlertId, cancellationToken);
        await using var lift = new NpgsqlCommand("""
            DELETE FROM pms_degraded_hotels
            WHERE hotel_id = @hotel AND alert_fingerprint = @fingerprint
              AND NOT EXISTS (SELECT 1 FROM alerts WHERE fingerprint = @fingerprint AND hotel_id = @hotel AND status = 'firing')
            """, connection, transaction);
        lift.Parameters.AddWithValue("hotel", hotel);
        lift.Parameters.AddWithValue("fingerprint", alert.Fingerprint);
        if (await lift.ExecuteNonQueryAsync(cancellationToken) > 0)
        {
            await AlertEvent.RecordAsync(connection, transaction, alert.AlertId, "reaction_lifted", $"PMS degraded mode lifted for hotel {hotel}", cancellationToken);
            return "pms_degraded_mode_lifted";
        }

        return null;
    }
}

internal sealed record AlertEvent(long AlertId, string Fingerprint, string AlertName, string? HotelId, bool IsPmsAlert)
{
    public static AlertEvent From(JsonElement payload)
    {
        var labels = payload.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Object
            ? l.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
            : [];
        var alertName = payload.GetProperty("alertName").GetString() ?? "";
        return new AlertEvent(
            payload.GetProperty("alertId").GetInt64(),
            payload.GetProperty("fingerprint").GetString() ?? throw new InvalidEventException("alert event without fingerprint"),
            alertName,
            payload.TryGetProperty("hotelId", out var hotel) && hotel.ValueKind == JsonValueKind.String ? hotel.GetString() : null,
            alertName.StartsWith("PMS", StringComparison.Ordinal) || labels.GetValueOrDefault("component") == "pms");
    }

    /// <summary>One key for an alert's firing and resolution: the degraded-mode row they insert and delete, kept in order.</summary>
    public static string LockKey(JsonElement payload) =>
        "alert/" + (payload.GetProperty("fingerprint").GetString() ?? throw new InvalidEventException("alert event without fingerprint"));

    /// <summary>Locks the alert's row until the transaction ends (a second worker's handler for it waits); returns its status, null when it is gone.</summary>
    public static async Task<string?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long alertId, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("SELECT status FROM alerts WHERE id = @alertId FOR NO KEY UPDATE", connection, transaction);
        select.Parameters.AddWithValue("alertId", alertId);
        return (string?)await select.ExecuteScalarAsync(cancellationToken);
    }

    public static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long alertId, string name, string detail,
        CancellationToken cancellationToken)
    {
        await using var record = new NpgsqlCommand("INSERT INTO alert_events (alert_id, event, detail) VALUES (@alertId, @event, @detail)", connection, transaction);
        record.Parameters.AddWithValue("alertId", alertId);
        record.Parameters.AddWithValue("event", name);
        record.Parameters.AddWithValue("detail", detail);
        await record.ExecuteNonQueryAsync(cancellationToken);
    }
}
