using System.Net;
using System.Net.Sockets;

namespace VoiceHive.Tests.Infrastructure;

internal static class TestDirectories
{
    private static readonly Lazy<string> RunRoot = new(() =>
    {
        // eng/test.sh names the root so that it can clean up after a run that was killed.
        var configured = Environment.GetEnvironmentVariable("VOICEHIVE_TEST_ROOT");
        var root = string.IsNullOrEmpty(configured)
            ? Path.Combine(Path.GetTempPath(), "voicehive-tests", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : configured;
        Directory.CreateDirectory(root);
        if (string.IsNullOrEmpty(configured))
        {
            // Run straight from the test binary: nobody else removes what the servers left behind.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        }

        // Servers that run as another user (PostgreSQL) must be able to traverse it.
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return root;
    });

    public static string Create(string prefix)
    {
        var directory = Path.Combine(RunRoot.Value, $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return directory;
    }

    /// <summary>A loopback port free at the time of asking.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            if (directory.Length > 0 && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Left for eng/test.sh to remove with the run's root.
        }
        catch (UnauthorizedAccessException)
        {
            // Likewise.
        }
    }
}
