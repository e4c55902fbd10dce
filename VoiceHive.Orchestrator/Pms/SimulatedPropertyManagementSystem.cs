using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// A PMS for development and tests, used when no real one is configured. Its data is deterministic
/// per hotel (the same hotel always has the same reservations and rooms); its latency and failure rate
/// follow <see cref="PmsSimulatorSettings"/>, which the Development-only admin endpoint changes at
/// runtime so that every alert path can be exercised on demand.
/// </summary>
public sealed class SimulatedPropertyManagementSystem(PmsSimulatorSettings settings, TimeProvider timeProvider) : IPropertyManagementSystem
{
    private static readonly (string Type, int Rooms, decimal Rate)[] RoomTypes = [("standard", 40, 129m), ("deluxe", 20, 189m), ("suite", 6, 349m)];
    private static readonly DateOnly Epoch = new(2026, 1, 1);

    public async Task<Reservation?> FindReservationAsync(string hotelId, string confirmationCode, CancellationToken cancellationToken)
    {
        await BehaveAsync(hotelId, cancellationToken);
        var prefix = CodePrefix(hotelId);
        if (!confirmationCode.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(confirmationCode.AsSpan(prefix.Length), out var number) || number is < 1000 or >= 1000 + ReservationsPerHotel)
        {
            return null;
        }

        var seed = Seed(hotelId, number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var arrival = Epoch.AddDays((int)(seed % 400));
        var nights = 1 + (int)(seed / 400 % 6);
        var room = RoomTypes[(int)(seed / 2400 % (ulong)RoomTypes.Length)].Type;
        return new Reservation(prefix + number.ToString(System.Globalization.CultureInfo.InvariantCulture), arrival, arrival.AddDays(nights), room, "confirmed");
    }

    public async Task<IReadOnlyList<RoomAvailability>> GetAvailabilityAsync(string hotelId, DateOnly night, CancellationToken cancellationToken)
    {
        await BehaveAsync(hotelId, cancellationToken);
        return RoomTypes
            .Select(room => new RoomAvailability(room.Type,
                (int)(Seed(hotelId, room.Type + night.DayNumber.ToString(System.Globalization.CultureInfo.InvariantCulture)) % (ulong)(room.Rooms + 1)),
                room.Rate, "EUR"))
            .ToList();
    }

    public const int ReservationsPerHotel = 500;

    /// <summary>The confirmation-code prefix of a hotel: the first two letters of its id, upper case (<c>grand-plaza</c> → <c>GR</c>).</summary>
    public static string CodePrefix(string hotelId)
    {
        var letters = hotelId.Where(char.IsAsciiLetter).Take(2).Select(char.ToUpperInvariant).ToArray();
        return letters.Length == 2 ? new string(letters) : "VH";
    }

    private async Task BehaveAsync(string hotelId, CancellationToken cancellationToken)
    {
        var profile = settings.For(hotelId);
        var latency = profile.SampleLatency(Random.Shared);
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, timeProvider, cancellationToken);
        }

        if (profile.FailureRate > 0 && Random.Shared.NextDouble() < profile.FailureRate)
        {
            throw new PmsUnavailableException("simulated", "The simulated PMS failed as configured.");
        }
    }

    private static ulong Seed(string hotelId, string key) =>
        BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(hotelId + "/" + key)), 0);
}

/// <summary>
/// How the simulator behaves: one profile for every hotel, and per-hotel overrides. The starting profile is
/// <see cref="SimulatorProfile.Normal"/> unless section <c>Pms:Simulator</c> sets <c>LatencyMedianMs</c>,
/// <c>LatencyP95Ms</c> or <c>FailureRate</c> (the benchmarks take the PMS's latency out this way).
/// </summary>
public sealed class PmsSimulatorSettings
{
    public const string Section = "Pms:Simulator";

    private readonly ConcurrentDictionary<string, SimulatorProfile> _hotels = new(StringComparer.Ordinal);
    private readonly SimulatorProfile _configured;

    public PmsSimulatorSettings(IConfiguration configuration)
    {
        _configured = FromConfiguration(configuration.GetSection(Section));
        Default = _configured;
    }

    public SimulatorProfile Default { get; private set; }

    public IReadOnlyDictionary<string, SimulatorProfile> Hotels => _hotels;

    public SimulatorProfile For(string hotelId) => _hotels.TryGetValue(hotelId, out var profile) ? profile : Default;

    public void Set(string? hotelId, SimulatorProfile profile)
    {
        if (hotelId is null)
        {
            Default = profile;
        }
        else
        {
            _hotels[hotelId] = profile;
        }
    }

    /// <summary>Back to the starting profile, without per-hotel overrides.</summary>
    public void Reset()
    {
        Default = _configured;
        _hotels.Clear();
    }

    /// <summary>What the simulator would be with <paramref name="profile"/> set for <paramref name="hotelId"/> (all hotels when null).</summary>
    public SimulatorState With(string? hotelId, SimulatorProfile profile)
    {
        var hotels = new Dictionary<string, SimulatorProfile>(_hotels, StringComparer.Ordinal);
        if (hotelId is not null)
        {
            hotels[hotelId] = profile;
        }

        return new SimulatorState(hotelId is null ? profile : Default, hotels);
    }

    /// <summary>Takes on <paramref name="state"/> whole (another replica's change).</summary>
    public void Replace(SimulatorState state)
    {
        Default = state.Default;
        foreach (var hotel in _hotels.Keys.Except(state.Hotels.Keys, StringComparer.Ordinal))
        {
            _hotels.TryRemove(hotel, out _);
        }

        foreach (var (hotel, profile) in state.Hotels)
        {
            _hotels[hotel] = profile;
        }
    }

    private static SimulatorProfile FromConfiguration(IConfigurationSection section)
    {
        var normal = SimulatorProfile.Normal;
        var profile = new SimulatorProfile(
            section.GetValue(nameof(SimulatorProfile.LatencyMedianMs), normal.LatencyMedianMs),
            section.GetValue(nameof(SimulatorProfile.LatencyP95Ms), normal.LatencyP95Ms),
            section.GetValue(nameof(SimulatorProfile.FailureRate), normal.FailureRate));
        // The admin endpoint's limits (PmsSimulatorApi.Update), and finite numbers.
        var valid = double.IsFinite(profile.LatencyMedianMs) && double.IsFinite(profile.LatencyP95Ms) && double.IsFinite(profile.FailureRate)
            && profile.LatencyMedianMs is >= 0 and <= 60_000
            && profile.LatencyP95Ms >= profile.LatencyMedianMs && profile.LatencyP95Ms <= 120_000
            && profile.FailureRate is >= 0 and <= 1;
        return valid
            ? profile
            : throw new InvalidOperationException(
                $"{Section}: LatencyMedianMs must be 0 to 60000, LatencyP95Ms from LatencyMedianMs to 120000, FailureRate 0 to 1.");
    }
}

/// <summary>
/// Latency as a log-normal distribution given by its median and 95th percentile, and the share of
/// requests that fail.
/// </summary>
public sealed record SimulatorProfile(double LatencyMedianMs, double LatencyP95Ms, double FailureRate)
{
    public static readonly SimulatorProfile Normal = new(120, 400, 0);

    public TimeSpan SampleLatency(Random random)
    {
        if (LatencyMedianMs <= 0)
        {
            return TimeSpan.Zero;
        }

        var sigma = LatencyP95Ms > LatencyMedianMs ? Math.Log(LatencyP95Ms / LatencyMedianMs) / 1.645 : 0;
        // Box-Muller: a standard normal sample from two uniform ones.
        var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return TimeSpan.FromMilliseconds(LatencyMedianMs * Math.Exp(sigma * normal));
    }
}
