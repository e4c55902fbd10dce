using System.Collections.Frozen;
using System.Text.Json;
using Npgsql;
using OpenTelemetry;
using StackExchange.Redis;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// Which hotels' PMS access is degraded, as the worker decided when a PMS alert fired (table
/// <c>pms_degraded_hotels</c>), refreshed every two seconds so no request waits on it. A refresh is not worth a
/// span: it runs with instrumentation suppressed.
/// </summary>
public sealed partial class DegradedHotels(NpgsqlDataSource dataSource, TimeProvider timeProvider, ILogger<DegradedHotels> logger) : BackgroundService
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private volatile FrozenSet<string> _hotels = FrozenSet<string>.Empty;

    public bool IsDegraded(string hotelId) => _hotels.Contains(hotelId);

    public IReadOnlyCollection<string> Hotels => _hotels;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var untraced = SuppressInstrumentationScope.Begin();
                var hotels = new List<string>();
                await using var command = dataSource.CreateCommand("SELECT DISTINCT hotel_id FROM pms_degraded_hotels");
                await using var reader = await command.ExecuteReaderAsync(stoppingToken);
                while (await reader.ReadAsync(stoppingToken))
                {
                    hotels.Add(reader.GetString(0));
                }

                var next = hotels.ToFrozenSet(StringComparer.Ordinal);
                if (!next.SetEquals(_hotels))
                {
                    LogChanged(logger, string.Join(",", next.Order(StringComparer.Ordinal)));
                }

                _hotels = next;
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                // Keep the last known set; the PostgreSQL health check reports the outage.
            }

            await Task.Delay(RefreshInterval, timeProvider, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "PMS degraded mode now applies to hotels: [{Hotels}]")]
    private static partial void LogChanged(ILogger logger, string hotels);
}

/// <summary>
/// The last reservation the PMS returned for each code, in Redis for a day: what a degraded hotel's callers
/// hear when the PMS cannot answer. Availability is never served from it: stale availability is not safe.
/// </summary>
public sealed class LastKnownReservations(IConnectionMultiplexer redis)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(1);

    public Task RememberAsync(string hotelId, Reservation reservation) =>
        redis.GetDatabase().StringSetAsync(Key(hotelId, reservation.ConfirmationCode), JsonSerializer.Serialize(reservation, JsonSerializerOptions.Web), Lifetime);

    public async Task<Reservation?> RecallAsync(string hotelId, string code)
    {
        var value = await redis.GetDatabase().StringGetAsync(Key(hotelId, code));
        return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<Reservation>((string)value!, JsonSerializerOptions.Web);
    }

    private static string Key(string hotelId, string code) => $"voicehive:pms:last:{hotelId}:reservation:{code.ToUpperInvariant()}";
}
