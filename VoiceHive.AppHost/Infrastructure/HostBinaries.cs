using System.Diagnostics;

namespace VoiceHive.AppHost.Infrastructure;

/// <summary>
/// Where the host-process form finds its programs: on PATH under the Debian package's name or the upstream one,
/// and PostgreSQL in the newest <c>/usr/lib/postgresql/*/bin</c>. eng/deps.sh installs the packages.
/// </summary>
internal static class HostBinaries
{
    /// <summary>The OS user PostgreSQL runs as when the AppHost runs as root (it refuses to run as root).</summary>
    public const string PostgresUser = "postgres";

    public static bool IsRoot => OperatingSystem.IsLinux() && Environment.UserName == "root";

    /// <summary>The full path of the first of <paramref name="names"/> found on PATH, or null.</summary>
    public static string? Find(params string[] names)
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries) ?? [];
        foreach (var name in names)
        {
            foreach (var directory in path.Append("/usr/sbin").Append("/usr/bin"))
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>The directory of the newest PostgreSQL server's programs, or null.</summary>
    public static string? PostgresBinDirectory()
    {
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Directory, "postgres")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Directory is not null)
            {
                return newest.Directory;
            }
        }

        return Find("postgres") is { } onPath ? Path.GetDirectoryName(onPath) : null;
    }

    /// <summary>Makes <paramref name="directory"/> the postgres user's when running as root (PostgreSQL checks its data directory's owner).</summary>
    public static void GiveToPostgresUser(string directory)
    {
        if (IsRoot)
        {
            Run("chown", ["-R", $"{PostgresUser}:{PostgresUser}", directory], stdin: null);
        }
    }

    /// <summary>The command line that runs <paramref name="program"/> as the postgres user under root, or as itself otherwise.</summary>
    public static (string Command, string[] Prefix) AsPostgresUser(string program) =>
        IsRoot
            // setpriv execs the program, so the process the AppHost supervises (and stops) is PostgreSQL itself.
            ? (Find("setpriv") ?? "setpriv", [$"--reuid={PostgresUser}", $"--regid={PostgresUser}", "--init-groups", "--", program])
            : (program, []);

    /// <summary>
    /// Runs a program to completion and returns its output; throws <see cref="InvalidOperationException"/> with its
    /// output when it fails or does not finish in time, and <see cref="System.ComponentModel.Win32Exception"/> when it
    /// is not installed.
    /// </summary>
    public static string Run(string program, IReadOnlyList<string> arguments, string? stdin, bool asPostgresUser = false, TimeSpan? timeout = null)
    {
        var (command, prefix) = asPostgresUser ? AsPostgresUser(program) : (program, []);
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var argument in prefix.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(program)} did not finish in time.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {process.ExitCode}: {error.Result.Trim()} {output.Result.Trim()}".Trim());
        }

        return output.Result;
    }
}
