namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// Waits for a condition that other processes bring about (a scrape, a restart), polling a bounded
/// number of times. Not a timing assertion: the bound only keeps a broken run from hanging.
/// </summary>
internal static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, string what,
        TimeSpan? limit = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(60));
        var delay = TimeSpan.FromMilliseconds(100);
        T last = default!;
        Exception? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await probe();
                lastError = null;
                if (done(last))
                {
                    return last;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or InvalidOperationException or TaskCanceledException)
            {
                lastError = exception;
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 1.5, 1000));
        }

        throw new TimeoutException($"Gave up waiting for {what}; last value: {last}; last error: {lastError?.Message}");
    }

    public static Task Until(Func<Task<bool>> condition, string what, TimeSpan? limit = null, CancellationToken cancellationToken = default) =>
        Until(condition, ok => ok, what, limit, cancellationToken);
}
