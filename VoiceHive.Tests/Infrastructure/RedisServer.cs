using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// A redis-server from the Debian package on a free loopback port. It can be stopped and started
/// again on the same port, to test what the services do while Redis is away; a persistent one keeps its
/// data across that (append-only file), as a production Redis must for the event stream.
/// </summary>
public sealed class RedisServer(bool persistent = false) : IAsyncLifetime
{
    private ManagedProcess? _process;
    private string _directory = "";

    public int Port { get; private set; }

    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)},connectTimeout=2000,syncTimeout=2000";

    public bool IsRunning => _process is { HasExited: false };

    public async ValueTask InitializeAsync()
    {
        _directory = TestDirectories.Create("redis");
        Port = TestDirectories.FreePort();
        await StartAsync();
    }

    public async Task StartAsync()
    {
        var binary = Binaries.Require("redis-server", "redis-server");
        _process = ManagedProcess.Start(binary,
            ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory,
             "--save", "", "--appendonly", persistent ? "yes" : "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning"],
            Path.Combine(_directory, "redis.log"));
        try
        {
            await Eventually.Until(PingAsync, "redis-server to answer PING", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException exception)
        {
            throw new InvalidOperationException($"redis-server did not start:\n{_process.TailOfLog()}", exception);
        }
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(ManagedProcess.SigTerm);
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        TestDirectories.TryDelete(_directory);
    }

    private async Task<bool> PingAsync()
    {
        if (_process is { HasExited: true })
        {
            throw new TimeoutException("redis-server exited");
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }
}
