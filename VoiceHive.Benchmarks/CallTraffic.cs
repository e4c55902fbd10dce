using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace VoiceHive.Benchmarks;

/// <summary>
/// The full call flow through the API: start, three turns (a reservation look-up, availability, check-out:
/// two of them ask the PMS), end. Closed loop (callers back to back, for throughput) or open loop (a fixed
/// rate, for sustained load).
/// </summary>
public static class CallTraffic
{
    public static readonly string[] SeededHotels = ["grand-plaza", "harbor-view", "alpine-lodge", "city-central"];

    /// <summary>A client of the call channel (the gateway's token, scope <c>calls</c>).</summary>
    public static HttpClient CreateClient(Uri orchestrator) => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 })
    {
        BaseAddress = orchestrator,
        Timeout = TimeSpan.FromSeconds(30),
    }.WithToken(BenchmarkEnvironment.CallsToken);

    /// <summary><paramref name="concurrency"/> callers, each placing calls back to back for <paramref name="duration"/>.</summary>
    public static async Task<TrafficResult> ClosedLoopAsync(HttpClient http, int concurrency, TimeSpan duration, IReadOnlyList<string>? hotels = null)
    {
        hotels ??= SeededHotels;
        long calls = 0, failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async caller =>
        {
            var random = new Random(caller);
            while (clock.Elapsed < duration)
            {
                if (await CallAsync(http, hotels[random.Next(hotels.Count)], random))
                {
                    Interlocked.Increment(ref calls);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        return new TrafficResult(calls, failures, clock.Elapsed);
    }

    /// <summary>
    /// A call started every 1/<paramref name="rate"/> seconds for <paramref name="duration"/> (at most <paramref name="maxInFlight"/> at once);
    /// with <paramref name="reportEvery"/>, a line per interval says how many calls completed, failed and were skipped in it.
    /// </summary>
    public static async Task<TrafficResult> OpenLoopAsync(HttpClient http, double rate, TimeSpan duration, int maxInFlight = 256,
        TimeSpan? reportEvery = null, CancellationToken cancellationToken = default)
    {
        long calls = 0, failures = 0, skipped = 0;
        var reported = (Calls: 0L, Failures: 0L, Skipped: 0L);
        var nextReport = reportEvery ?? TimeSpan.MaxValue;
        using var slots = new SemaphoreSlim(maxInFlight);
        var running = new List<Task>();
        var random = new Random(7);
        var clock = Stopwatch.StartNew();
        try
        {
            for (long n = 0; clock.Elapsed < duration && !cancellationToken.IsCancellationRequested; n++)
            {
                if (clock.Elapsed >= nextReport)
                {
                    Report();
                    nextReport += reportEvery!.Value;
                }

                var due = TimeSpan.FromSeconds(n / rate);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed, cancellationToken);
                }

                if (!await slots.WaitAsync(0, cancellationToken))
                {
                    // The service is behind by maxInFlight calls: counted, not queued without bound.
                    skipped++;
                    continue;
                }

                var hotel = SeededHotels[random.Next(SeededHotels.Length)];
                var seed = random.Next();
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        if (await CallAsync(http, hotel, new Random(seed)))
                        {
                            Interlocked.Increment(ref calls);
                        }
                        else
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
                running.RemoveAll(task => task.IsCompleted);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped by the caller: the calls under way still finish below.
        }
        finally
        {
            // Every call started is awaited, also when stopped, so none outlives the client or the semaphore.
            await Task.WhenAll(running);
        }

        if (reportEvery is not null)
        {
            // The last interval, up to the end of the calls still under way.
            Report();
        }

        return new TrafficResult(calls, failures + skipped, clock.Elapsed);

        void Report()
        {
            var now = (Calls: Interlocked.Read(ref calls), Failures: Interlocked.Read(ref failures), Skipped: skipped);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  load {clock.Elapsed.TotalSeconds:F0} s: {now.Calls - reported.Calls} calls completed, {now.Failures - reported.Failures} failed, {now.Skipped - reported.Skipped} skipped"));
            reported = now;
        }
    }

    /// <summary>One call; false if any request of it failed.</summary>
    public static async Task<bool> CallAsync(HttpClient http, string hotel, Random random, string outcome = "resolved")
    {
        try
        {
            var caller = string.Create(CultureInfo.InvariantCulture, $"+44770090{random.Next(10_000):D4}");
            using var started = await http.PostAsJsonAsync("api/calls", new { hotelId = hotel, callerNumber = caller, language = "en" });
            if (!started.IsSuccessStatusCode)
            {
                return false;
            }

            var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            var code = string.Create(CultureInfo.InvariantCulture, $"{hotel[..2].ToUpperInvariant()}{1000 + random.Next(500)}");
            foreach (var utterance in (string[])[$"Can you check my reservation {code}?", "Do you have any rooms available tomorrow?", "What time is check-out?"])
            {
                using var turn = await http.PostAsJsonAsync($"api/calls/{id}/turns", new { utterance });
                if (!turn.IsSuccessStatusCode)
                {
                    return false;
                }
            }

            using var ended = await http.PostAsJsonAsync($"api/calls/{id}/end", new { outcome });
            return ended.IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return false;
        }
    }
}

public sealed record TrafficResult(long Calls, long Failures, TimeSpan Elapsed)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;
}
