using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace VoiceHive.ServiceDefaults.Data;

public static class ConnectionStrings
{
    /// <summary>The connection string <paramref name="name"/>, or an error that names the missing setting.</summary>
    public static string GetRequiredConnectionString(this IConfiguration configuration, string name) =>
        configuration.GetConnectionString(name) is { Length: > 0 } value
            ? value
            : throw new StartupFailedException(
                $"The connection string 'ConnectionStrings:{name}' is not set. Set it in configuration or as the " +
                $"environment variable ConnectionStrings__{name} (the AppHost injects it).");
}
