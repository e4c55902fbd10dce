using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

using VoiceHive.AppHost.Monitoring;

namespace VoiceHive.AppHost.Infrastructure;

/// <summary>PostgreSQL as a host process, with the container form's connection string (user <c>postgres</c>, a password).</summary>
internal sealed class PostgresProcessResource(string name, string command, string workingDirectory, ParameterResource password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string UserName = "postgres";

    public EndpointReference PrimaryEndpoint => new(this, PostgresServer.EndpointName);

    public ParameterResource PasswordParameter { get; } = password;

    public Dictionary<string, string> Databases { get; } = new(StringComparer.OrdinalIgnoreCase);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={PasswordParameter}");
}

/// <summary>A database of <see cref="PostgresProcessResource"/>, created when the server is first ready.</summary>
internal sealed class PostgresProcessDatabaseResource(string name, string databaseName, PostgresProcessResource parent)
    : Resource(name), IResourceWithParent<PostgresProcessResource>, IResourceWithConnectionString
{
    public PostgresProcessResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};{new DbConnectionStringBuilder { ["Database"] = DatabaseName }.ToString()}");
}

internal static class PostgresServer
{
    public const string EndpointName = "tcp";
    public const string ImageTag = "17.2";

    /// <summary>
    /// PostgreSQL: Aspire's container where containers run; where none does, the Debian package's server on loopback,
    /// its cluster initialised in the data directory on first start and run as the postgres user under root. Either way
    /// endpoint <c>tcp</c>, a <c>Host=…;Port=…;Username=postgres;Password=…</c> connection string and a query health check.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddPostgresServer(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, IResourceBuilder<ParameterResource> password) =>
        form.Containers
            ? builder.AddPostgres(name, password: password).WithImageTag(ImageTag).WithDataVolume()
            : builder.AddPostgresProcess(name, form, password);

    /// <summary>A database on the server, created when the server is first ready, with its own health check.</summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddPostgresDatabase(this IResourceBuilder<IResourceWithConnectionString> server, string name) =>
        server.Resource switch
        {
            PostgresServerResource => ((IResourceBuilder<PostgresServerResource>)server).AddDatabase(name),
            PostgresProcessResource => AddProcessDatabase((IResourceBuilder<PostgresProcessResource>)server, name),
            _ => throw new ArgumentException($"{server.Resource.Name} is not a PostgreSQL server.", nameof(server)),
        };

    /// <summary>The endpoint, user and password an exporter needs, whichever form runs PostgreSQL.</summary>
    public static (EndpointReference Endpoint, ReferenceExpression User, ParameterResource Password) Access(IResourceWithConnectionString server) => server switch
    {
        PostgresServerResource container => (container.PrimaryEndpoint, container.UserNameReference, container.PasswordParameter),
        PostgresProcessResource process => (process.PrimaryEndpoint, ReferenceExpression.Create($"{PostgresProcessResource.UserName}"), process.PasswordParameter),
        _ => throw new ArgumentException($"{server.Name} is not a PostgreSQL server.", nameof(server)),
    };

    private static IResourceBuilder<PostgresProcessResource> AddPostgresProcess(this IDistributedApplicationBuilder builder, string name,
        InfrastructureForm form, IResourceBuilder<ParameterResource> password)
    {
        var state = form.StateOf(name);
        var data = Path.Combine(state, "data");
        var socket = Path.Combine(state, "socket");
        var bin = HostBinaries.PostgresBinDirectory();
        var postgres = Path.Combine(bin ?? "/usr/lib/postgresql/bin", "postgres");
        var (command, prefix) = HostBinaries.AsPostgresUser(postgres);
        var server = new PostgresProcessResource(name, command, state, password.Resource);

        var connectionString = builder.ConnectionStringOnceAvailable(server);
        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(_ => connectionString() + ";Database=postgres", name: healthCheck);

        return builder.AddResource(server)
            .WithEndpoint(name: EndpointName, scheme: "tcp")
            .WithIconName("DatabaseMultiple")
            .OnBeforeResourceStarted(async (resource, _, cancellationToken) =>
            {
                if (bin is null)
                {
                    throw new InvalidOperationException("No PostgreSQL server is installed: install the Debian package 'postgresql' (eng/deps.sh does).");
                }

                var secret = await resource.PasswordParameter.GetValueAsync(cancellationToken) ?? "";
                PrepareCluster(bin, state, data, socket, secret);
            })
            .WithArgs(context =>
            {
                foreach (var argument in (string[])[.. prefix, "-D", data, "-k", socket, "-c", "listen_addresses=localhost", "-c", "max_connections=200", "-p"])
                {
                    context.Args.Add(argument);
                }

                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .OnResourceReady(async (resource, _, cancellationToken) =>
            {
                // As Aspire's container does: every database is created once the server answers.
                await using var connection = new NpgsqlConnection(await resource.ConnectionStringExpression.GetValueAsync(cancellationToken) + ";Database=postgres");
                await connection.OpenAsync(cancellationToken);
                foreach (var database in resource.Databases.Values)
                {
                    await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
                    exists.Parameters.AddWithValue("name", database);
                    if (await exists.ExecuteScalarAsync(cancellationToken) is null)
                    {
                        await using var create = new NpgsqlCommand($"CREATE DATABASE {new NpgsqlCommandBuilder().QuoteIdentifier(database)}", connection);
                        await create.ExecuteNonQueryAsync(cancellationToken);
                    }
                }
            })
            .WithHealthCheck(healthCheck);
    }

    private static IResourceBuilder<PostgresProcessDatabaseResource> AddProcessDatabase(IResourceBuilder<PostgresProcessResource> server, string name)
    {
        var database = new PostgresProcessDatabaseResource(name, name, server.Resource);
        server.Resource.Databases[name] = name;

        var builder = server.ApplicationBuilder;
        var connectionString = builder.ConnectionStringOnceAvailable(database);
        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(_ => connectionString(), name: healthCheck);
        return builder.AddResource(database)
            .WithIconName("Database")
            .OnInitializeResource((resource, @event, cancellationToken) =>
            {
                // Aspire carries a container's state over to its databases; an executable's it does not, so this does.
                var stopping = @event.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                _ = Task.Run(async () =>
                {
                    await foreach (var update in @event.Notifications.WatchAsync(stopping).WithCancellation(stopping))
                    {
                        if (update.Resource == resource.Parent)
                        {
                            await @event.Notifications.PublishUpdateAsync(resource, snapshot => snapshot with
                            {
                                State = update.Snapshot.State,
                                StartTimeStamp = update.Snapshot.StartTimeStamp,
                                StopTimeStamp = update.Snapshot.StopTimeStamp,
                            });
                        }
                    }
                }, stopping);
                return Task.CompletedTask;
            })
            .WithHealthCheck(healthCheck);
    }

    /// <summary>
    /// Initialises the cluster on first start (as the postgres user under root, with password authentication over TCP),
    /// and sets the postgres user's password to the parameter's value at every start, in single-user mode before the
    /// server listens: a password rotated in the AppHost's secrets takes effect without wiping the data.
    /// </summary>
    private static void PrepareCluster(string bin, string state, string data, string socket, string password)
    {
        Directory.CreateDirectory(state);
        Directory.CreateDirectory(socket);
        if (!File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            Directory.CreateDirectory(data);
            var passwordFile = Path.Combine(state, ".initdb-password");
            MonitoringConfiguration.WriteSecret(passwordFile, password + "\n");
            try
            {
                HostBinaries.GiveToPostgresUser(state);
                HostBinaries.Run(Path.Combine(bin, "initdb"),
                    ["-D", data, "-U", PostgresProcessResource.UserName, "--auth-host=scram-sha-256", "--auth-local=peer",
                     "--pwfile", passwordFile, "--encoding=UTF8", "--no-locale"],
                    stdin: null, asPostgresUser: true);
            }
            finally
            {
                File.Delete(passwordFile);
            }
        }

        HostBinaries.GiveToPostgresUser(state);
        try
        {
            HostBinaries.Run(Path.Combine(bin, "postgres"), ["--single", "-D", data, "postgres"],
                stdin: $"ALTER ROLE {PostgresProcessResource.UserName} PASSWORD '{password.Replace("'", "''", StringComparison.Ordinal)}'\n", asPostgresUser: true);
        }
        catch (InvalidOperationException exception)
        {
            // PostgreSQL echoes the failed statement: the password must not reach the log with it.
            throw new InvalidOperationException(exception.Message.Replace(password, "***", StringComparison.Ordinal));
        }
    }
}
