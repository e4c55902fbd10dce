namespace VoiceHive.AppHost;

/// <summary>
/// A setting or parameter the AppHost cannot start with. The message names it and says what it must be; the AppHost
/// then ends with that one line on standard error and exit code 1, not an unhandled exception's stack trace.
/// </summary>
internal sealed class AppHostConfigurationException(string message) : Exception(message)
{
    private static int _registered;

    /// <summary>From here on, an <see cref="AppHostConfigurationException"/> that ends the process is reported in one line.</summary>
    public static void ReportInOneLine()
    {
        if (Interlocked.Exchange(ref _registered, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.UnhandledException += (_, args) =>
        {
            if (Find(args.ExceptionObject as Exception) is { } refused)
            {
                Console.Error.WriteLine($"Start-up failed: {refused.Message}");
                Environment.Exit(1);
            }
        };
    }

    /// <summary>The refusal inside what Aspire's eventing and the host wrap it in, if that is what ended the start.</summary>
    internal static AppHostConfigurationException? Find(Exception? exception) => exception switch
    {
        AppHostConfigurationException refused => refused,
        AggregateException { InnerExceptions: [var single] } => Find(single),
        { InnerException: { } inner } => Find(inner),
        _ => null,
    };
}
