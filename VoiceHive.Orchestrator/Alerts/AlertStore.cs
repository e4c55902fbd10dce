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

    /// <summary>Stores the alerts of one notification; returns those that changed state.</summary>
    public async Task<IReadOnlyList<ValidAlert>> StoreAsync(IReadOnlyList<ValidAlert> alerts, string? traceParent, CancellationToken cancellationToken)
    {
        var changed = new List<ValidAlert>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var alert in alerts)
        {
            await using var upsert = new NpgsqlCommand("""
                INSERT INTO alerts (fingerprint, starts_at, status, alertname, severity, hotel_id, labels, annotations, ends_at, generator_url)
                VALUES (@fingerprint, @startsAt, @status, @alertname, @severity, @hotelId, @labels, @annotations, @endsAt, @generatorUrl)
                ON CONFLICT (fingerprint, starts_at) DO UPDATE
                    SET status = 'resolved', ends_at = EXCLUDED.ends_at, annotations = EXCLUDED.annotations, updated_at = now()
                    WHERE alerts.status = 'firing' AND EXCLUDED.status = 'resolved'
                RETURNING id
                """, connection, transaction);
            upsert.Parameters.AddWithValue("fingerprint", alert.Fingerprint);
            upsert.Parameters.AddWithValue("startsAt", alert.StartsAt);
            upsert.Parameters.AddWithValue("status", alert.Status);
            upsert.Parameters.AddWithValue("alertname", alert.AlertName);
            upsert.Parameters.AddWithValue("severity", alert.Severity);
            upsert.Parameters.AddWithValue("hotelId", (object?)alert.HotelId ?? DBNull.Value);
            upsert.Parameters.AddWithValue("labels", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(alert.Labels));
            upsert.Parameters.AddWithValue("annotations", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(alert.Annotations));
            upsert.Parameters.AddWithValue("endsAt", (object?)alert.EndsAt ?? DBNull.Value);
            upsert.Parameters.AddWithValue("generatorUrl", (object?)alert.GeneratorUrl ?? DBNull.Value);
            if (await upsert.ExecuteScalarAsync(cancellationToken) is not long id)
            {
                continue;
            }

            var resolved = alert.Status == "resolved";
            await using var record = new NpgsqlCommand("""
                INSERT INTO alert_events (alert_id, event) VALUES (@id, @timelineEvent);
                INSERT INTO outbox_messages (id, type, payload, trace_parent) VALUES (@messageId, @type, @payload, @traceParent);
                """, connection, transaction);
            record.Parameters.AddWithValue("id", id);
            record.Parameters.AddWithValue("timelineEvent", resolved ? "resolved" : "received");
            record.Parameters.AddWithValue("messageId", Guid.CreateVersion7());
            record.Parameters.AddWithValue("type", resolved ? ResolvedEvent : FiringEvent);
            record.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(new
            {
                alertId = id,
                alert.Fingerprint,
                alert.StartsAt,
                alert.EndsAt,
                alert.Status,
                alert.AlertName,
                alert.Severity,
                alert.HotelId,
                alert.Labels,
            }, JsonSerializerOptions.Web));
            record.Parameters.AddWithValue("traceParent", (object?)traceParent ?? DBNull.Value);
            await record.ExecuteNonQueryAsync(cancellationToken);
            changed.Add(alert);
        }

        await transaction.CommitAsync(cancellationToken);
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
