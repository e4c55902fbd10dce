using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceHive.AppHost.Infrastructure;

namespace VoiceHive.AppHost.Operations;

/// <summary>
/// Once every resource is running and healthy, says so in the AppHost's console with the addresses a newcomer
/// wants first (Aspire allocates the ports, so they change from run to run). eng/run.sh waits for this line.
/// </summary>
internal sealed partial class RunningSummary(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    InfrastructureForm form,
    ILogger<RunningSummary> logger) : BackgroundService
{
    public const string ReadyLine = "VoiceHive is running";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var resources = model.Resources
            .Where(r => r is not ParameterResource && !r.Annotations.OfType<ExplicitStartupAnnotation>().Any())
            .ToList();
        foreach (var resource in resources)
        {
            await notifications.WaitForResourceHealthyAsync(resource.Name, stoppingToken);
        }

        var summary = new StringBuilder()
            .Append(ReadyLine).Append(": ").Append(resources.Count).Append(" resources healthy, infrastructure as ")
            .AppendLine(form.Containers ? "containers." : $"host processes (state in {form.DataDirectory}).");
        foreach (var resource in resources.OfType<IResourceWithEndpoints>())
        {
            if (resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault() is { AllocatedEndpoint: { } endpoint })
            {
                summary.Append("  ").Append(resource.Name.PadRight(18)).AppendLine(endpoint.UriString);
            }
        }

        summary.AppendLine("The dashboard's login URL is above. On the orchestrator, \"Inject PMS fault\" and \"Clear PMS faults\" break and heal the alert path,");
        summary.AppendLine("and \"Operator token\" gives a bearer token for the operator endpoints (or: dotnet user-jwts create --project VoiceHive.Orchestrator");
        summary.AppendLine("--scope operations --audience voicehive); on traffic, \"Start traffic\", \"Stop traffic\" and \"Set traffic rate\" steer the calls;");
        summary.Append("on the worker, \"Dead letters\" and \"Replay dead letters\". Ctrl+C stops everything.");
        LogRunning(logger, summary.ToString());
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Summary}")]
    private static partial void LogRunning(ILogger logger, string summary);
}

internal static class RunningSummaryExtensions
{
    /// <summary>Prints the running system's addresses once everything is healthy (run mode).</summary>
    public static IDistributedApplicationBuilder AddRunningSummary(this IDistributedApplicationBuilder builder, InfrastructureForm form)
    {
        if (builder.ExecutionContext.IsRunMode)
        {
            builder.Services.AddSingleton(form);
            builder.Services.AddHostedService<RunningSummary>();
        }

        return builder;
    }
}
