using System.Diagnostics;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>Runs promtool (Debian package prometheus) and returns its exit code and output.</summary>
internal static class Promtool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments, string? standardInput = null)
    {
        var info = new ProcessStartInfo(Binaries.Require("promtool", "prometheus"))
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
            throw new TimeoutException("promtool did not finish within two minutes");
        }

        return (process.ExitCode, (await output) + (await error));
    }
}
