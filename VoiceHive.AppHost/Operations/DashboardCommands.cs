using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace VoiceHive.AppHost.Operations;

/// <summary>
/// What the team and the on-call engineer can do from the Aspire dashboard without curl: break the PMS and heal it
/// (the alert path in two clicks), and steer the traffic generator. Each command calls the resource's own API with
/// an operator's credentials; the same commands run from tests through <c>ResourceCommandService</c>.
/// </summary>
internal static class DashboardCommands
{
    public const string InjectPmsFault = "inject-pms-fault";
    public const string ClearPmsFaults = "clear-pms-faults";
    public const string StartTraffic = "start-traffic";
    public const string StopTraffic = "stop-traffic";
    public const string SetTrafficRate = "set-traffic-rate";
    public const string ListDeadLetters = "list-dead-letters";
    public const string ReplayDeadLetters = "replay-dead-letters";
    public const string IssueOperatorToken = "issue-operator-token";

    /// <summary>The hotels the simulated PMS serves (its data is deterministic per hotel; any other name works too).</summary>
    private static readonly string[] Hotels = ["grand-plaza", "harbor-view", "alpine-lodge", "city-central"];

    private const string AllHotels = "all";

    /// <summary>
    /// Inject a PMS fault (failure rate and latency, one hotel or all, after a confirmation) and clear it again. The
    /// replicas share the simulator's state under a session of this run's own, so a fault left injected when the
    /// AppHost stops is not there when it starts again (Redis keeps its data between runs).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPmsFaultCommands(this IResourceBuilder<ProjectResource> orchestrator, ServiceCredentials credentials)
    {
        var session = Guid.NewGuid().ToString("N");
        return orchestrator
            .WithEnvironment(context =>
            {
                if (context.ExecutionContext.IsRunMode)
                {
                    context.EnvironmentVariables["Pms__Simulator__Session"] = session;
                }
            })
            .WithHttpCommand("/admin/pms-simulator", "Inject PMS fault", commandName: InjectPmsFault, commandOptions: new HttpCommandOptions
            {
                Method = HttpMethod.Put,
                Description = "Make the simulated PMS slow and failing, for one hotel or all: calls fail, and CallSuccessRateLow and PMSResponseTimeSlow fire.",
                ConfirmationMessage = "The simulated PMS will answer slowly and fail: callers will hear the fallback and alerts will fire. Inject the fault?",
                IconName = "Flash",
                IsHighlighted = true,
                Arguments =
                [
                    new InteractionInput
                    {
                        Name = "hotel", Label = "Hotel", InputType = InputType.Choice, Required = true, AllowCustomChoice = true, Value = "grand-plaza",
                        Options = [new(AllHotels, "All hotels"), .. Hotels.Select(h => new KeyValuePair<string, string>(h, h))],
                    },
                    new InteractionInput { Name = "failureRate", Label = "Failure rate (0 to 1)", InputType = InputType.Number, Required = true, Value = "1" },
                    new InteractionInput { Name = "latencyMs", Label = "Median latency (ms)", InputType = InputType.Number, Required = true, Value = "2500" },
                ],
                ValidateArguments = context =>
                {
                    RequireNumber(context, "failureRate", 0, 1);
                    RequireNumber(context, "latencyMs", 0, 50_000);
                    return Task.CompletedTask;
                },
                PrepareRequest = async context =>
                {
                    var hotel = context.Arguments.GetString("hotel");
                    var latency = context.Arguments.GetDouble("latencyMs");
                    context.Request.Content = JsonContent.Create(new
                    {
                        hotelId = hotel is null or AllHotels ? null : hotel,
                        latencyMedianMs = latency,
                        latencyP95Ms = latency * 1.2,
                        failureRate = context.Arguments.GetDouble("failureRate"),
                    });
                    context.Request.Headers.Authorization = await credentials.OperatorAsync(context.CancellationToken);
                },
            })
            .WithHttpCommand("/admin/pms-simulator", "Clear PMS faults", commandName: ClearPmsFaults, commandOptions: new HttpCommandOptions
            {
                Method = HttpMethod.Delete,
                Description = "Back to the simulated PMS's normal behaviour for every hotel: the alerts resolve.",
                IconName = "ArrowReset",
                PrepareRequest = async context => context.Request.Headers.Authorization = await credentials.OperatorAsync(context.CancellationToken),
            });
    }

    /// <summary>
    /// A token for an operator (scope <c>operations</c>, valid for an hour), shown in the dashboard: for curl or the API
    /// reference against the orchestrator's and the worker's operator endpoints while the AppHost runs.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithOperatorTokenCommand(this IResourceBuilder<ProjectResource> service, ServiceCredentials credentials) =>
        service.WithCommand(IssueOperatorToken, "Operator token", async context =>
            CommandResults.Success("An operator's bearer token (scope operations), valid for an hour",
                await credentials.IssueAsync(ServiceTokens.Operations, "dashboard-operator", TimeSpan.FromHours(1), context.CancellationToken),
                CommandResultFormat.Text, displayImmediately: true),
            new CommandOptions { Description = "Issue a bearer token with the operations scope, for curl or the API reference.", IconName = "Key" });

    /// <summary>Look at the dead-letter stream, and put its entries back on the event stream after a fix.</summary>
    public static IResourceBuilder<ProjectResource> WithDeadLetterCommands(this IResourceBuilder<ProjectResource> worker, ServiceCredentials credentials) =>
        worker
            .WithHttpCommand("/admin/dead-letters", "Dead letters", commandName: ListDeadLetters, commandOptions: new HttpCommandOptions
            {
                Method = HttpMethod.Get,
                Description = "The events that failed every delivery, without their payloads.",
                IconName = "MailWarning",
                ResultMode = HttpCommandResultMode.Json,
                PrepareRequest = async context => context.Request.Headers.Authorization = await credentials.OperatorAsync(context.CancellationToken),
            })
            .WithHttpCommand("/admin/dead-letters/replay", "Replay dead letters", commandName: ReplayDeadLetters, commandOptions: new HttpCommandOptions
            {
                Method = HttpMethod.Post,
                Description = "Put every dead-lettered event back on the event stream; one already applied is not applied twice.",
                ConfirmationMessage = "Put every dead-lettered event back on the event stream? Do it once the cause is fixed.",
                IconName = "ArrowRepeatAll",
                PrepareRequest = async context => context.Request.Headers.Authorization = await credentials.OperatorAsync(context.CancellationToken),
                GetCommandResult = async context =>
                {
                    if (!context.Response.IsSuccessStatusCode)
                    {
                        return CommandResults.Failure($"The worker answered {(int)context.Response.StatusCode}.");
                    }

                    var result = await context.Response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(context.CancellationToken);
                    return CommandResults.Success($"{result.GetProperty("replayed").GetInt32()} dead-lettered events put back on the stream");
                },
            });

    /// <summary>Start, stop and pace the traffic generator.</summary>
    public static IResourceBuilder<ProjectResource> WithTrafficCommands(this IResourceBuilder<ProjectResource> traffic, ServiceCredentials credentials) =>
        traffic
            .WithTrafficCommand(StartTraffic, "Start traffic", "Play", new { running = true }, credentials)
            .WithTrafficCommand(StopTraffic, "Stop traffic", "Pause", new { running = false }, credentials)
            .WithHttpCommand("/traffic", "Set traffic rate", commandName: SetTrafficRate, commandOptions: new HttpCommandOptions
            {
                Method = HttpMethod.Put,
                Description = "Calls per second the generator places.",
                IconName = "TopSpeed",
                Arguments = [new InteractionInput { Name = "callsPerSecond", Label = "Calls per second", InputType = InputType.Number, Required = true, Value = "1" }],
                ValidateArguments = context =>
                {
                    RequireNumber(context, "callsPerSecond", 0.01, 100);
                    return Task.CompletedTask;
                },
                PrepareRequest = async context =>
                {
                    context.Request.Content = JsonContent.Create(new { callsPerSecond = context.Arguments.GetDouble("callsPerSecond") });
                    context.Request.Headers.Authorization = await credentials.OperatorAsync(context.CancellationToken);
                },
            });

    private static IResourceBuilder<ProjectResource> WithTrafficCommand(this IResourceBuilder<ProjectResource> traffic, string name, string displayName, string icon,
        object body, ServiceCredentials credentials) =>
        traffic.WithHttpCommand("/traffic", displayName, commandName: name, commandOptions: new HttpCommandOptions
        {
            Method = HttpMethod.Put,
            IconName = icon,
            PrepareRequest = async context =>
            {
                context.Request.Content = JsonContent.Create(body);
                context.Request.Headers.Authorization = await credentials.OperatorAsync(context.CancellationToken);
            },
        });

    /// <summary>The dashboard shows the error beside the input, and the command does not run.</summary>
    private static void RequireNumber(InputsDialogValidationContext context, string input, double minimum, double maximum)
    {
        if (!double.TryParse(context.Inputs[input].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < minimum || value > maximum)
        {
            context.AddValidationError(context.Inputs[input], string.Create(CultureInfo.InvariantCulture, $"A number from {minimum} to {maximum}."));
        }
    }
}
