namespace VoiceHive.Tests.Infrastructure;

/// <summary>Finds the server binaries the Debian packages install, or says which package is missing.</summary>
internal static class Binaries
{
    public static string Require(string name, string debianPackage, params string[] extraDirectories)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var candidates = extraDirectories
            .Concat(path.Split(':', StringSplitOptions.RemoveEmptyEntries))
            .Concat(["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"])
            .Select(directory => Path.Combine(directory, name));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"'{name}' was not found. Install the Debian package '{debianPackage}' " +
                $"(sudo apt-get install --no-install-recommends {debianPackage}); eng/deps.sh installs every package the tests need.");
    }

    /// <summary>A service's assembly as built beside these tests (same configuration), to run as a process of its own.</summary>
    public static string ServiceAssembly(string project)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, project, "bin", configuration, "net10.0", project + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{project}.dll not found; build the solution first.");
    }

    /// <summary>The newest PostgreSQL server's bin directory (<c>/usr/lib/postgresql/N/bin</c>).</summary>
    public static string PostgresBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        var newest = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => (Directory: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                .Where(d => d.Version > 0 && File.Exists(Path.Combine(d.Directory, "bin", "postgres")))
                .OrderByDescending(d => d.Version)
                .Select(d => Path.Combine(d.Directory, "bin"))
                .FirstOrDefault()
            : null;
        return newest ?? Path.GetDirectoryName(Require("postgres", "postgresql"))!;
    }
}
