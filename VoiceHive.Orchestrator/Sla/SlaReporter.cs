using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;

namespace VoiceHive.Orchestrator.Sla;

/// <summary>
/// The SLA report, computed from PostgreSQL so that every replica answers the same: per hotel and
/// overall, over 1 h, 24 h and 30 d, the call success rate against its threshold, the error budget that
/// the threshold allows and how much of it is left, the burn rate (how fast the window spends it; 1 means
/// exactly at the threshold), and the PMS's 95th-percentile response time against its threshold.
/// The 1 h window is read from the call records (exact, sliding); 24 h and 30 d from the worker's hourly
/// aggregates (the whole hours that start inside the window), which stay cheap however many calls there
/// are; their PMS p95 is interpolated within the aggregate's latency buckets, as Prometheus's
/// histogram_quantile does.
/// </summary>
public sealed class SlaReporter(NpgsqlDataSource dataSource, IOptions<SlaOptions> options, TimeProvider timeProvider)
{
    public static readonly (string Name, TimeSpan Length)[] Windows =
        [("1h", TimeSpan.FromHours(1)), ("24h", TimeSpan.FromHours(24)), ("30d", TimeSpan.FromDays(30))];

    public async Task<SlaReport> ReportAsync(string? hotelId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var thresholds = options.Value;
        var windows = new List<SlaWindow>();
        foreach (var (name, length) in Windows)
        {
            var since = now - length;
            var fromRecords = length <= TimeSpan.FromHours(1);
            var (calls, pms) = fromRecords
                ? (await CallsAsync(since, hotelId, cancellationToken), await PmsAsync(since, hotelId, cancellationToken))
                : await AggregatesAsync(since, hotelId, cancellationToken);
            var hotels = calls.Keys.Concat(pms.Keys).Where(k => k.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(hotel => new HotelSla(hotel, Figures(calls.GetValueOrDefault(hotel), pms.GetValueOrDefault(hotel), thresholds)))
                .ToList();
            windows.Add(new SlaWindow(name, since, fromRecords ? "records" : "hourly_aggregates",
                Figures(calls.GetValueOrDefault(""), pms.GetValueOrDefault(""), thresholds), hotels));
        }

        return new SlaReport(now, thresholds.CallSuccessRateThreshold, thresholds.PmsResponseTimeThreshold,
            windows[0].Overall.BurnRate, windows);
    }

    internal static SlaFigures Figures(CallCounts? calls, PmsStats? pms, SlaOptions thresholds)
    {
        var total = calls?.Calls ?? 0;
        var failures = calls?.Failures ?? 0;
        double? successRate = total == 0 ? null : 100.0 * (total - failures) / total;
        var allowedFailureRatio = 1 - thresholds.CallSuccessRateThreshold / 100.0;
        double? burnRate = total == 0 ? null : (double)failures / total / allowedFailureRatio;
        return new SlaFigures(
            total,
            total - failures,
            failures,
            Round(successRate),
            successRate is null ? null : successRate >= thresholds.CallSuccessRateThreshold,
            Round(1 - burnRate),
            Round(burnRate),
            pms?.Requests ?? 0,
            pms?.Failures ?? 0,
            Round(pms?.P95Seconds),
            pms?.P95Seconds is { } p95 ? p95 <= thresholds.PmsResponseTimeThreshold : null);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 6) : null;

    private async Task<Dictionary<string, CallCounts>> CallsAsync(DateTimeOffset since, string? hotelId, CancellationToken cancellationToken)
    {
        // ROLLUP adds the overall row, with a NULL hotel.
        await using var command = dataSource.CreateCommand("""
            SELECT hotel_id, count(*), count(*) FILTER (WHERE NOT succeeded)
            FROM calls
            WHERE status = 'ended' AND ended_at > @since AND (@hotelId::text IS NULL OR hotel_id = @hotelId::text)
            GROUP BY ROLLUP (hotel_id)
            """);
        command.Parameters.AddWithValue("since", since);
        command.Parameters.AddWithValue("hotelId", (object?)hotelId ?? DBNull.Value);
        var result = new Dictionary<string, CallCounts>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.IsDBNull(0) ? "" : reader.GetString(0)] = new CallCounts(reader.GetInt64(1), reader.GetInt64(2));
        }

        return result;
    }

    private async Task<Dictionary<string, PmsStats>> PmsAsync(DateTimeOffset since, string? hotelId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT hotel_id, count(*), count(*) FILTER (WHERE outcome IN ('error', 'timeout')),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_seconds)
            FROM pms_requests
            WHERE occurred_at > @since AND (@hotelId::text IS NULL OR hotel_id = @hotelId::text)
            GROUP BY ROLLUP (hotel_id)
            """);
        command.Parameters.AddWithValue("since", since);
        command.Parameters.AddWithValue("hotelId", (object?)hotelId ?? DBNull.Value);
        var result = new Dictionary<string, PmsStats>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.IsDBNull(0) ? "" : reader.GetString(0)] = new PmsStats(reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetDouble(3));
        }

        return result;
    }

    /// <summary>Per hotel and overall (key ""), from <c>call_hourly_stats</c>: whole hours starting at or after <paramref name="since"/>.</summary>
    private async Task<(Dictionary<string, CallCounts> Calls, Dictionary<string, PmsStats> Pms)> AggregatesAsync(
        DateTimeOffset since, string? hotelId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT hotel_id, sum(calls)::bigint, sum(failures)::bigint, sum(pms_requests)::bigint, sum(pms_failures)::bigint,
                   (SELECT array_agg(total ORDER BY i) FROM (
                        SELECT u.i, sum(u.b)::bigint AS total
                        FROM call_hourly_stats inner_stats, unnest(inner_stats.pms_buckets) WITH ORDINALITY AS u(b, i)
                        WHERE inner_stats.hotel_id = s.hotel_id AND inner_stats.hour >= @since
                        GROUP BY u.i) AS per_bucket)
            FROM call_hourly_stats s
            WHERE hour >= @since AND (@hotelId::text IS NULL OR hotel_id = @hotelId::text)
            GROUP BY hotel_id
            """);
        command.Parameters.AddWithValue("since", since);
        command.Parameters.AddWithValue("hotelId", (object?)hotelId ?? DBNull.Value);
        var calls = new Dictionary<string, CallCounts>(StringComparer.Ordinal);
        var pms = new Dictionary<string, PmsStats>(StringComparer.Ordinal);
        long allCalls = 0, allFailures = 0, allRequests = 0, allPmsFailures = 0;
        var allBuckets = new long[PmsBucketBounds.Length + 1];
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var hotel = reader.GetString(0);
                var buckets = reader.IsDBNull(5) ? new long[allBuckets.Length] : reader.GetFieldValue<long[]>(5);
                calls[hotel] = new CallCounts(reader.GetInt64(1), reader.GetInt64(2));
                pms[hotel] = new PmsStats(reader.GetInt64(3), reader.GetInt64(4), Quantile(0.95, buckets));
                allCalls += reader.GetInt64(1);
                allFailures += reader.GetInt64(2);
                allRequests += reader.GetInt64(3);
                allPmsFailures += reader.GetInt64(4);
                for (var i = 0; i < Math.Min(buckets.Length, allBuckets.Length); i++)
                {
                    allBuckets[i] += buckets[i];
                }
            }
        }

        calls[""] = new CallCounts(allCalls, allFailures);
        pms[""] = new PmsStats(allRequests, allPmsFailures, Quantile(0.95, allBuckets));
        return (calls, pms);
    }

    /// <summary>The worker's PMS latency bucket bounds (seconds); the last bucket holds everything above.</summary>
    internal static readonly double[] PmsBucketBounds = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10];

    /// <summary>The q-quantile of bucketed observations, interpolated linearly inside its bucket; the top bucket answers its lower bound.</summary>
    internal static double? Quantile(double q, IReadOnlyList<long> buckets)
    {
        var total = buckets.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = q * total;
        long cumulative = 0;
        for (var i = 0; i < buckets.Count; i++)
        {
            if (cumulative + buckets[i] >= rank && buckets[i] > 0)
            {
                if (i >= PmsBucketBounds.Length)
                {
                    return PmsBucketBounds[^1];
                }

                var lower = i == 0 ? 0 : PmsBucketBounds[i - 1];
                return lower + (PmsBucketBounds[i] - lower) * (rank - cumulative) / buckets[i];
            }

            cumulative += buckets[i];
        }

        return PmsBucketBounds[^1];
    }

    internal sealed record CallCounts(long Calls, long Failures);

    internal sealed record PmsStats(long Requests, long Failures, double? P95Seconds);
}

/// <summary>The thresholds, from <c>CALL_SUCCESS_RATE_THRESHOLD</c> (percent) and <c>PMS_RESPONSE_TIME_THRESHOLD</c> (seconds).</summary>
public sealed class SlaOptions
{
    [System.ComponentModel.DataAnnotations.Range(50.0, 99.999)]
    public double CallSuccessRateThreshold { get; set; } = 99.0;

    [System.ComponentModel.DataAnnotations.Range(0.01, 60.0)]
    public double PmsResponseTimeThreshold { get; set; } = 2.0;

    public static void Bind(SlaOptions options, IConfiguration configuration)
    {
        if (configuration["CALL_SUCCESS_RATE_THRESHOLD"] is { Length: > 0 } rate)
        {
            options.CallSuccessRateThreshold = double.Parse(rate, CultureInfo.InvariantCulture);
        }

        if (configuration["PMS_RESPONSE_TIME_THRESHOLD"] is { Length: > 0 } seconds)
        {
            options.PmsResponseTimeThreshold = double.Parse(seconds, CultureInfo.InvariantCulture);
        }
    }
}

public sealed record SlaReport(
    DateTimeOffset GeneratedAt,
    double CallSuccessRateThreshold,
    double PmsResponseTimeThresholdSeconds,
    double? CurrentBurnRate,
    IReadOnlyList<SlaWindow> Windows);

/// <summary>One window; <c>Source</c> says whether it was read from the call records or the hourly aggregates.</summary>
public sealed record SlaWindow(string Window, DateTimeOffset Since, string Source, SlaFigures Overall, IReadOnlyList<HotelSla> Hotels);

public sealed record HotelSla(string HotelId, SlaFigures Figures);

public sealed record SlaFigures(
    long Calls,
    long Successes,
    long Failures,
    double? SuccessRatePercent,
    bool? MeetsSla,
    double? ErrorBudgetRemaining,
    double? BurnRate,
    long PmsRequests,
    long PmsFailures,
    double? PmsP95Seconds,
    bool? PmsMeetsThreshold);
