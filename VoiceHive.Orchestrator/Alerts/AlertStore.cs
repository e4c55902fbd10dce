using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace VoiceHive.Orchestrator.Alerts;

/// <summary>
/// Alerts in PostgreSQL, one row per firing (fingerprint, startsAt), stored idempotently: a delivery
/// seen before changes nothing, a resolved notification closes its firing row. Every change is written
/// with an outbox message for the worker in the same transaction, so an alert acknowledged to
/// Alertmanager is never lost, whatever happens to Redis or the worker afterwards.
/// </summary>
public sealed class AlertStore(NpgsqlDataSource dataSource)
{
    public const string FiringEvent = "alert.firing";
    public const string ResolvedEvent = "alert.resolved";

    /// <summary>
    /// Stores the alerts of one notification; returns those that changed state. One statement does it all (the
    /// upserts, their timeline entries and outbox messages), so it is atomic without a transaction and costs one
    /// round trip whatever the notification's size. An alert repeated within one notification counts once, its
    /// resolved copy first. Rows are written in key order, so two notifications never lock each other's rows in
    /// opposite orders.
    /// </summary>
    public async Task<IReadOnlyList<ValidAlert>> StoreAsync(IReadOnlyList<ValidAlert> alerts, string? traceParent, CancellationToken cancellationToken)
    {
        var distinct = alerts
            .GroupBy(a => (a.Fingerprint, a.StartsAt))
            .Select(g => g.FirstOrDefault(a => a.Status == "resolved") ?? g.Last())
            .ToList();
        await using var store = dataSource.CreateCommand("""
            WITH input AS (
                SELECT * FROM unnest(@fingerprints, @startsAt, @statuses, @alertnames, @severities, @hotelIds, @labels, @annotations, @endsAt,
                                     @generatorUrls, @messageIds, @ordinals)
                    AS t(fingerprint, starts_at, status, alertname, severity, hotel_id, labels, annotations, ends_at, generator_url, message_id, ordinal)
            ), changed AS (
                INSERT INTO alerts AS a (fingerprint, starts_at, status, alertname, severity, hotel_id, labels, annotations, ends_at, generator_url)
                SELECT fingerprint, starts_at, status, alertname, severity, hotel_id, labels, annotations, ends_at, generator_url FROM input
                ORDER BY fingerprint, starts_at
                ON CONFLICT (fingerprint, starts_at) DO UPDATE
                    SET status = 'resolved', ends_at = EXCLUDED.ends_at, annotations = EXCLUDED.annotations, updated_at = now()
                    WHERE a.status = 'firing' AND EXCLUDED.status = 'resolved'
                RETURNING a.id, a.fingerprint, a.starts_at, a.status
            ), timeline AS (
                INSERT INTO alert_events (alert_id, event)
                SELECT id, CASE WHEN status = 'resolved' THEN 'resolved' ELSE 'received' END FROM changed
            ), outbox AS (
                INSERT INTO outbox_messages (id, type, payload, trace_parent)
                SELECT i.message_id,
                       CASE WHEN c.status = 'resolved' THEN @resolvedEvent ELSE @firingEvent END,
                       jsonb_build_object('alertId', c.id, 'fingerprint', c.fingerprint, 'startsAt', c.starts_at, 'endsAt', i.ends_at,
                                          'status', c.status, 'alertName', i.alertname, 'severity', i.severity, 'hotelId', i.hotel_id, 'labels', i.labels),
                       @traceParent
                FROM changed c JOIN input i USING (fingerprint, starts_at)
                ORDER BY i.ordinal
            )
            SELECT i.ordinal FROM changed c JOIN input i USING (fingerprint, starts_at) ORDER BY i.ordinal
            """);
        var parameters = store.Parameters;
        parameters.AddWithValue("fingerprints", distinct.Select(a => a.Fingerprint).ToArray());
        parameters.AddWithValue("startsAt", distinct.Select(a => a.StartsAt).ToArray());
        parameters.AddWithValue("statuses", distinct.Select(a => a.Status).ToArray());
        parameters.AddWithValue("alertnames", distinct.Select(a => a.AlertName).ToArray());
        parameters.AddWithValue("severities", distinct.Select(a => a.Severity).ToArray());
        parameters.Add(new NpgsqlParameter("hotelIds", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = distinct.Select(a => a.HotelId).ToArray() });
        parameters.AddWithValue("labels", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, distinct.Select(a => JsonSerializer.Serialize(a.Labels)).ToArray());
        parameters.AddWithValue("annotations", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, distinct.Select(a => JsonSerializer.Serialize(a.Annotations)).ToArray());
        parameters.Add(new NpgsqlParameter("endsAt", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = distinct.Select(a => a.EndsAt).ToArray() });
        parameters.Add(new NpgsqlParameter("generatorUrls", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = distinct.Select(a => a.GeneratorUrl).ToArray() });
        // Sorted, so that the relay (ordered by created_at, then id; created_at is one value for the statement) sends a
        // notification's messages in the order of its alerts.
        var messageIds = distinct.Select(_ => Guid.CreateVersion7()).Order().ToArray();
        parameters.AddWithValue("messageIds", messageIds);
        parameters.AddWithValue("ordinals", Enumerable.Range(0, distinct.Count).ToArray());
        parameters.AddWithValue("resolvedEvent", ResolvedEvent);
        parameters.AddWithValue("firingEvent", FiringEvent);
        parameters.Add(new NpgsqlParameter<string?>("traceParent", NpgsqlDbType.Varchar) { TypedValue = traceParent });

        var changed = new List<ValidAlert>();
        await using var reader = await store.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changed.Add(distinct[reader.GetInt32(0)]);
        }

        return changed;
    }

    public async Task<IReadOnlyList<AlertDto>> ListAsync(string? status, string? severity, string? hotelId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT a.id, a.fingerprint, a.alertname, a.status, a.severity, a.hotel_id, a.starts_at, a.ends_at, a.received_at,
                   a.labels::text, a.annotations::text,
                   COALESCE((SELECT json_agg(json_build_object('event', e.event, 'at', e.at, 'detail', e.detail) ORDER BY e.at, e.id)
                             FROM alert_events e WHERE e.alert_id = a.id), '[]')::text
            FROM alerts a
            WHERE (@status IS NULL OR a.status = @status)
              AND (@severity IS NULL OR a.severity = @severity)
              AND (@hotelId IS NULL OR a.hotel_id = @hotelId)
            ORDER BY a.status = 'firing' DESC, a.starts_at DESC, a.id DESC
            LIMIT @limit
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("status", NpgsqlDbType.Text) { TypedValue = status });
        command.Parameters.Add(new NpgsqlParameter<string?>("severity", NpgsqlDbType.Text) { TypedValue = severity });
        command.Parameters.Add(new NpgsqlParameter<string?>("hotelId", NpgsqlDbType.Text) { TypedValue = hotelId });
        command.Parameters.AddWithValue("limit", limit);
        var alerts = new List<AlertDto>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            alerts.Add(new AlertDto(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
                reader.GetFieldValue<DateTimeOffset>(8),
                JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(9))!,
                JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(10))!,
                JsonSerializer.Deserialize<List<AlertEventDto>>(reader.GetString(11), JsonSerializerOptions.Web)!));
        }

        return alerts;
    }
}

/// <summary>An alert that passed validation.</summary>
public sealed record ValidAlert(
    string Fingerprint,
    string Status,
    string AlertName,
    string Severity,
    string? HotelId,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    string? GeneratorUrl,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations);
