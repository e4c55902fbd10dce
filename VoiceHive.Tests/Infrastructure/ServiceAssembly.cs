namespace VoiceHive.Tests.Infrastructure;

/// <summary>A service's assembly as built beside these tests (same configuration), to run as its own process.</summary>
public static class ServiceAssembly
{
    public static string Path(string project)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, project, "bin", configuration, "net10.0", project + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{project}.dll not found; build the solution first.");
    }
}
