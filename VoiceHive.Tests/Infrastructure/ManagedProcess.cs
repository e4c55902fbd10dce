using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// A server process started by a fixture: output goes to a log file, it is stopped with a signal
/// of the server's choosing (then killed), and every process still running when the test host
/// exits, however it exits, is killed.
/// </summary>
internal sealed partial class ManagedProcess : IAsyncDisposable
{
    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private static readonly ConcurrentDictionary<int, Process> Running = new();
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _disposed;

    static ManagedProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private ManagedProcess(Process process, StreamWriter log, string logPath)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string LogPath { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="fileName"/>; with <paramref name="asUser"/> and root, through setpriv so the PID is the server's own.</summary>
    public static ManagedProcess Start(string fileName, IEnumerable<string> arguments, string logPath, string? asUser = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (asUser is not null && IsRoot)
        {
            info.FileName = Binaries.Require("setpriv", "util-linux");
            foreach (var argument in (string[])[$"--reuid={asUser}", $"--regid={asUser}", "--init-groups", "--", fileName])
            {
                info.ArgumentList.Add(argument);
            }
        }
        else
        {
            info.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Running[process.Id] = process;
        return new ManagedProcess(process, log, logPath);
    }

    public static bool IsRoot => Environment.UserName == "root";

    public void Signal(int signal)
    {
        if (!_process.HasExited)
        {
            _ = NativeKill(_process.Id, signal);
        }
    }

    /// <summary>Sends <paramref name="signal"/> and waits; kills the process if it has not exited in time.</summary>
    public async Task StopAsync(int signal = SigTerm, TimeSpan? grace = null)
    {
        if (_process.HasExited)
        {
            Running.TryRemove(_process.Id, out _);
            return;
        }

        Signal(signal);
        using var timeout = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        Running.TryRemove(_process.Id, out _);
    }

    public string TailOfLog(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync();
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives after the fixture has closed its log is of no use.
            }
        }
    }

    private static void KillAll()
    {
        foreach (var process in Running.Values)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int NativeKill(int pid, int signal);
}
