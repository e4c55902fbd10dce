using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>A start-up that cannot proceed (bad configuration, a dependency unreachable); the message says why in one line.</summary>
public sealed class StartupFailedException(string message, Exception? innerException = null)
    : InvalidOperationException(message, innerException);

/// <summary>
/// Ends a process whose start-up cannot proceed with one line on standard error that says why and exit code 1,
/// instead of an unhandled exception's stack trace (and the host's own report of it before that). Any other
/// exception that escapes start-up is a bug and keeps its stack trace.
/// </summary>
public static class StartupFailures
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";
    private static int _registered;

    public static TBuilder ReportStartupFailuresInOneLine<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += (_, args) =>
            {
                if (args.ExceptionObject is Exception exception && Describe(exception) is { } line)
                {
                    Console.Error.WriteLine(line);
                    Environment.Exit(1);
                }
            };
        }

        // The host logs a failed start (with the exception) before it rethrows; the exception then ends the
        // process and is reported above, or by the runtime with its stack trace.
        var state = new StartState();
        builder.Services.AddSingleton(state);
        builder.Services.AddHostedService<StartState.Watcher>();
        // Its other messages there are lifecycle chatter at Debug and Information.
        builder.Logging.AddFilter(HostCategory, level => level >= LogLevel.Warning && (level != LogLevel.Error || state.Started));
        return builder;
    }

    /// <summary>The one line for a start-up failure, or null for any other exception.</summary>
    public static string? Describe(Exception exception) => Reason(exception) is { } reason ? $"Start-up failed: {reason}" : null;

    // An aggregate (ValidateOnStart's, when several options types fail at once, say in a new deployment missing two
    // settings) is described when every exception in it is, in one line; with any other exception in it, it is a bug.
    private static string? Reason(Exception exception) => exception switch
    {
        StartupFailedException failure => failure.Message,
        OptionsValidationException invalid => $"invalid configuration ({invalid.OptionsType.Name}): {string.Join(" ", invalid.Failures)}",
        AggregateException { InnerExceptions: { Count: > 0 } all } when all.Select(Reason).ToList() is var reasons && reasons.All(r => r is not null) =>
            string.Join("; ", reasons),
        _ => null,
    };

    private sealed class StartState
    {
        public volatile bool Started;

        public sealed class Watcher(StartState state, IHostApplicationLifetime lifetime) : IHostedService
        {
            public Task StartAsync(CancellationToken cancellationToken)
            {
                lifetime.ApplicationStarted.Register(() => state.Started = true);
                return Task.CompletedTask;
            }

            public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        }
    }
}
