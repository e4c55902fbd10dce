namespace VoiceHive.Tests.Stack;

/// <summary>
/// A running VoiceHive as end-to-end tests see it, whichever host started it: <see cref="LocalProcessStack"/>
/// here (real processes from Debian packages), the Aspire testing builder where the Aspire packages restore.
/// Tests that take only this interface run on both.
/// </summary>
public interface IVoiceHiveStack : IAsyncDisposable
{
    Uri Orchestrator { get; }

    Uri Worker { get; }

    Uri Prometheus { get; }

    Uri Alertmanager { get; }

    string DatabaseConnectionString { get; }

    string RedisConnectionString { get; }

    /// <summary>The bearer token Alertmanager sends to the orchestrator's webhook.</summary>
    string WebhookToken { get; }

    /// <summary>The bearer token Prometheus sends to the services' scrape endpoints (<c>Monitoring:ScrapeToken</c>).</summary>
    string ScrapeToken { get; }

    /// <summary>A JWT with scope <c>calls</c>: the call channel (start, turn, end).</summary>
    string CallsToken { get; }

    /// <summary>A JWT with scope <c>operations</c>: alerts, the SLA report, transcripts, the PMS simulator's admin endpoint (faults are injected through it, as a person would).</summary>
    string OperationsToken { get; }

    /// <summary>The scrape jobs Prometheus is expected to have every target of up.</summary>
    IReadOnlyCollection<string> ScrapeJobs { get; }
}
