using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceHive.AppHost.Infrastructure;

namespace VoiceHive.AppHost.Operations;

/// <summary>
/// Once every resource is running and healthy, says so in the AppHost's console with the addresses a newcomer
/// wants first (Aspire allocates the ports, so they change from run to run); eng/run.sh waits for this line. While
/// some are not, it says every minute which and what their health checks report, so a console user is not left guessing.
/// </summary>
internal sealed partial class RunningSummary(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    InfrastructureForm form,
    ILogger<RunningSummary> logger) : BackgroundService
{
    public const string ReadyLine = "VoiceHive is running";

    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var resources = model.Resources
            .Where(r => r is not ParameterResource && !r.Annotations.OfType<ExplicitStartupAnnotation>().Any())
            .ToList();
        var healthy = Task.WhenAll(resources.Select(r => notifications.WaitForResourceHealthyAsync(r.Name, stoppingToken)));
        using (var watching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            // The latest snapshot of every instance (each replica has its own), for the "still waiting" report.
            var latest = new ConcurrentDictionary<string, CustomResourceSnapshot>();
            var watch = Watch(resources.ToHashSet(), latest, watching.Token);
            while (await Task.WhenAny(healthy, Task.Delay(ReportEvery, stoppingToken)) != healthy)
            {
                LogWaiting(logger, Describe(latest));
            }

            await watching.CancelAsync();
            await watch;
        }

        await healthy;

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
        summary.AppendLine("and \"Operator token\" gives a bearer token for every service's operator endpoints (dotnet user-jwts create --project");
        summary.AppendLine("VoiceHive.Orchestrator --scope operations --audience voicehive makes one for the orchestrator alone); on traffic, \"Start traffic\", \"Stop traffic\" and \"Set traffic rate\" steer the calls;");
        summary.Append("on the worker, \"Dead letters\" and \"Replay dead letters\". Ctrl+C stops everything.");
        LogRunning(logger, summary.ToString());
    }

    private async Task Watch(
        HashSet<IResource> awaited, ConcurrentDictionary<string, CustomResourceSnapshot> latest, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var update in notifications.WatchAsync(cancellationToken))
            {
                if (awaited.Contains(update.Resource))
                {
                    latest[update.ResourceId] = update.Snapshot;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Each instance that is not yet running and healthy, with its state and the health checks that do not pass.</summary>
    private static string Describe(IReadOnlyDictionary<string, CustomResourceSnapshot> latest) => string.Join("; ", latest
        .Where(instance => instance.Value.HealthStatus != HealthStatus.Healthy || instance.Value.State?.Text != KnownResourceStates.Running)
        .OrderBy(instance => instance.Key, StringComparer.Ordinal)
        .Select(instance =>
        {
            var failing = instance.Value.HealthReports.Where(r => r.Status != HealthStatus.Healthy)
                .Select(r => $"{r.Name} {r.Status?.ToString() ?? "pending"}{(r.Description is { Length: > 0 } d ? ": " + d : "")}");
            return $"{instance.Key}: {instance.Value.State?.Text ?? "unknown"} ({string.Join(", ", failing)})";
        }));

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Still waiting for resources to be running and healthy: {Waiting}")]
    private static partial void LogWaiting(ILogger logger, string waiting);

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
