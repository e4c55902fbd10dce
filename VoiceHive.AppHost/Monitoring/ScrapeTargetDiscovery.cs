using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceHive.AppHost.Infrastructure;

namespace VoiceHive.AppHost.Monitoring;

/// <summary>
/// Keeps Prometheus's orchestrator.json and worker.json equal to the replicas that are alive. Each replica announces
/// its own address (<c>Monitoring__AdvertisedHost</c> and the port it listens on, behind Aspire's proxy), the
/// orchestrator lists them at <c>/monitoring/scrape-targets</c> in Prometheus's HTTP service-discovery format, and
/// this copies that list into the file_sd files every few seconds, so every replica is scraped on its own.
/// </summary>
internal sealed partial class ScrapeTargetDiscovery(
    string prometheusConfiguration,
    InfrastructureForm form,
    PrometheusTargets targets,
    IResourceBuilder<ParameterResource> scrapeToken,
    ResourceNotificationService notifications,
    ILogger logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await notifications.WaitForResourceHealthyAsync(targets.Orchestrator.Resource.Name, stoppingToken);
        var port = await targets.Orchestrator.GetEndpoint(MonitoringStack.HttpEndpoint).Property(EndpointProperty.Port).GetValueAsync(stoppingToken);
        using var http = new HttpClient { BaseAddress = new Uri($"http://localhost:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        // The list names internal addresses: the orchestrator asks for the scrape token, as of Prometheus.
        http.DefaultRequestHeaders.Authorization = new("Bearer", await scrapeToken.Resource.GetValueAsync(stoppingToken));
        string? last = null;
        string? failing = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var body = await http.GetStringAsync("/monitoring/scrape-targets", stoppingToken);
                if (body != last)
                {
                    Write(body);
                    last = body;
                }

                failing = null;
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever it is (the orchestrator starting or restarting, a list this cannot read, a file it cannot
                // write), Prometheus keeps the last list and the AppHost keeps running; said once per kind of failure.
                var kind = exception is HttpRequestException { StatusCode: { } status } ? $"HTTP {(int)status}" : exception.GetType().Name;
                if (kind != failing)
                {
                    LogUnavailable(logger, kind, exception.Message);
                    failing = kind;
                }
            }

            await Task.Delay(Interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Write(string body)
    {
        using var groups = JsonDocument.Parse(body);
        foreach (var service in (IResourceBuilder<ProjectResource>[])[targets.Orchestrator, targets.Worker])
        {
            var addresses = groups.RootElement.EnumerateArray()
                .Where(g => g.TryGetProperty("labels", out var labels) && labels.TryGetProperty("voicehive_service", out var name) && name.GetString() == service.Resource.Name)
                .SelectMany(g => g.GetProperty("targets").EnumerateArray().Select(t => t.GetString()!))
                .Order(StringComparer.Ordinal)
                .ToList();
            MonitoringConfiguration.WriteTargets(prometheusConfiguration, service.Resource.Name, [new(addresses)]);
        }

        LogUpdated(logger, form.HostAsSeenByMonitoring);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Scrape targets of the services updated from the replicas' announcements ({Host})")]
    private static partial void LogUpdated(ILogger logger, string host);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "The services' scrape targets could not be updated ({Failure}: {Reason}); Prometheus keeps the last list")]
    private static partial void LogUnavailable(ILogger logger, string failure, string reason);
}
