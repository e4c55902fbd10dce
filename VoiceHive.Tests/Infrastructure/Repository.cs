namespace VoiceHive.Tests.Infrastructure;

/// <summary>The repository the tests were built from (the folder holding VoiceHive.sln).</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "VoiceHive.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("VoiceHive.sln not found above " + AppContext.BaseDirectory);
    }
}
