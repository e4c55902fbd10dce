using System.Diagnostics;
using Npgsql;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server from the Debian package, in a fresh data directory on a free loopback port.
/// PostgreSQL refuses to run as root, so under root it runs as the <c>postgres</c> user.
/// Durability is switched off unless asked for (<paramref name="durable"/>): test databases live for one run,
/// while the benchmarks measure what a production server does.
/// </summary>
public sealed class PostgresServer(bool durable = false) : IAsyncLifetime
{
    private const string OsUser = "postgres";
    private ManagedProcess? _process;
    private NpgsqlDataSource? _admin;
    private string _directory = "";

    public int Port { get; private set; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=5";

    public async ValueTask InitializeAsync()
    {
        var bin = Binaries.PostgresBinDirectory();
        _directory = TestDirectories.Create("pg");
        var data = Path.Combine(_directory, "data");
        var socket = Path.Combine(_directory, "socket");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(socket);
        if (ManagedProcess.IsRoot)
        {
            await RunAsync("chown", ["-R", $"{OsUser}:{OsUser}", _directory]);
        }

        await using (var initdb = ManagedProcess.Start(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
            Path.Combine(_directory, "initdb.log"), OsUser))
        {
            await Eventually.Until(() => Task.FromResult(initdb.HasExited), "initdb to finish", TimeSpan.FromSeconds(120));
            if (!Directory.Exists(Path.Combine(data, "base")))
            {
                throw new InvalidOperationException($"initdb failed:\n{initdb.TailOfLog()}");
            }
        }

        for (var attempt = 0; ; attempt++)
        {
            Port = TestDirectories.FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 2 && _process is null)
            {
                // Another process took the port between asking and binding; try another.
            }
        }
    }

    /// <summary>Starts the server on its port and data directory (again, after <see cref="StopAsync"/>).</summary>
    public async Task StartAsync()
    {
        var data = Path.Combine(_directory, "data");
        _process = ManagedProcess.Start(Path.Combine(Binaries.PostgresBinDirectory(), "postgres"),
            ["-D", data, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", Path.Combine(_directory, "socket"),
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
             .. durable ? Array.Empty<string>() : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]],
            Path.Combine(_directory, "postgres.log"), OsUser);
        try
        {
            await Eventually.Until(CanConnectAsync, "PostgreSQL to accept connections", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException exception)
        {
            var log = _process.TailOfLog();
            var exited = _process.HasExited;
            await (_admin?.DisposeAsync() ?? ValueTask.CompletedTask);
            _admin = null;
            if (exited)
            {
                await _process.DisposeAsync();
                _process = null;
            }

            throw new InvalidOperationException($"PostgreSQL did not start:\n{log}", exception);
        }
    }

    /// <summary>Creates an empty database and returns a connection string for it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "voicehive")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];
        await using var command = Admin.CreateCommand($"""CREATE DATABASE "{name}" """);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Timeout=5;Command Timeout=30";
    }

    // Named, so that the harness's own pool does not put a connection string into the (process-wide)
    // Npgsql metrics that the services under test expose.
    private NpgsqlDataSource Admin => _admin ??= Untraced(new NpgsqlDataSourceBuilder(AdminConnectionString) { Name = "test-harness" }).Build();

    /// <summary>A harness data source whose commands and connections make no spans among the services' own.</summary>
    internal static NpgsqlDataSourceBuilder Untraced(NpgsqlDataSourceBuilder builder)
    {
        builder.ConfigureTracing(tracing => tracing
            .ConfigureCommandFilter(_ => false)
            .ConfigureBatchFilter(_ => false)
            .EnablePhysicalOpenTracing(false));
        return builder;
    }

    /// <summary>Stops the server (PostgreSQL's fast shutdown, SIGINT: it does not wait for clients).</summary>
    public async Task StopAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
            _admin = null;
        }

        if (_process is not null)
        {
            await _process.StopAsync(ManagedProcess.SigInt);
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        TestDirectories.TryDelete(_directory);
    }

    private async Task<bool> CanConnectAsync()
    {
        if (_process!.HasExited)
        {
            throw new TimeoutException("postgres exited");
        }

        try
        {
            await using var connection = await Admin.OpenConnectionAsync();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private static async Task RunAsync(string fileName, string[] arguments)
    {
        var info = new ProcessStartInfo(fileName) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}");
        }
    }
}
