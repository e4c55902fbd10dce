using System.Diagnostics;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>Runs a command-line tool from a Debian package to completion (bounded) and returns its exit code and output.</summary>
internal static class ExternalTool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string binary, string package, IEnumerable<string> arguments, string? standardInput = null)
    {
        var info = new ProcessStartInfo(Binaries.Require(binary, package))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{binary} did not finish within two minutes");
        }

        return (process.ExitCode, (await output) + (await error));
    }
}

/// <summary>promtool, from the Debian package prometheus.</summary>
internal static class Promtool
{
    public static Task<(int ExitCode, string Output)> RunAsync(string[] arguments, string? standardInput = null) =>
        ExternalTool.RunAsync("promtool", "prometheus", arguments, standardInput);
}

/// <summary>amtool, from the Debian package prometheus-alertmanager.</summary>
internal static class Amtool
{
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        ExternalTool.RunAsync("amtool", "prometheus-alertmanager", arguments);
}
