using System.Xml.Linq;

namespace VoiceHive.Tests;

/// <summary>Guards on the solution's shape that design.md asks for and that a build here would not catch.</summary>
public sealed class RepositoryLayoutTests
{
    private static readonly string Root = Infrastructure.Repository.Root;

    [Fact]
    public void NoProjectButTheAppHostAndItsTestsReferencesAspireHosting()
    {
        // The services use Aspire's client integrations (Aspire.Npgsql..., Aspire.StackExchange.Redis); only the
        // AppHost and its tests may use the hosting packages.
        var offenders = ProjectFiles()
            .Where(path => !Path.GetFileName(Path.GetDirectoryName(path)!).StartsWith("VoiceHive.AppHost", StringComparison.Ordinal))
            .Where(path => XDocument.Load(path).Descendants("PackageReference")
                .Any(reference => ((string?)reference.Attribute("Include"))?.StartsWith("Aspire.Hosting", StringComparison.Ordinal) == true))
            .ToList();

        Assert.Empty(offenders);
    }

    [Fact]
    public void TheSolutionHoldsEveryProject()
    {
        var inSolution = File.ReadAllLines(Path.Combine(Root, "VoiceHive.sln"))
            .Where(line => line.StartsWith("Project(", StringComparison.Ordinal))
            .Select(line => line.Split(',')[1].Trim().Trim('"').Replace('\\', '/'))
            .ToHashSet();

        Assert.Equal(ProjectFiles().Select(p => Path.GetRelativePath(Root, p)).ToHashSet(), inSolution);
    }

    [Fact]
    public void EveryPackageReferenceHasOneCentralVersion()
    {
        var versions = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Select(v => (string)v.Attribute("Include")!)
            .ToList();
        var referenced = ProjectFiles()
            .SelectMany(path => XDocument.Load(path).Descendants("PackageReference"))
            .Select(reference => new { Name = (string)reference.Attribute("Include")!, HasVersion = reference.Attribute("Version") is not null })
            .ToList();

        Assert.Equal(versions.Count, versions.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(referenced, r => Assert.False(r.HasVersion, $"{r.Name} sets its version in a project file"));
        Assert.All(referenced, r => Assert.Contains(r.Name, versions));
    }

    private static IEnumerable<string> ProjectFiles() =>
        Directory.EnumerateFiles(Root, "*.csproj", SearchOption.AllDirectories)
            .Where(path => !path.Contains("/bin/", StringComparison.Ordinal) && !path.Contains("/obj/", StringComparison.Ordinal));
}
