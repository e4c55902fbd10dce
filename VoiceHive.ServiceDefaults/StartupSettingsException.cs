namespace VoiceHive.ServiceDefaults;

/// <summary>
/// A setting the service cannot start without, found missing while the host is being built. A process that stops
/// for one says so in one line on standard error and exits with 1, instead of an unhandled exception's stack trace;
/// a host built in-process (a test) sees the exception.
/// </summary>
public sealed class StartupSettingsException(string message) : InvalidOperationException(message)
{
    private static int _exitsInOneLine;

    /// <summary>Turns an unhandled <see cref="StartupSettingsException"/> into one line and exit code 1 (once per process).</summary>
    public static void ExitInOneLine()
    {
        if (Interlocked.Exchange(ref _exitsInOneLine, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.UnhandledException += (_, args) =>
        {
            if (args.ExceptionObject is StartupSettingsException exception)
            {
                Console.Error.WriteLine("VoiceHive cannot start: " + exception.Message);
                Environment.Exit(1);
            }
        };
    }
}
