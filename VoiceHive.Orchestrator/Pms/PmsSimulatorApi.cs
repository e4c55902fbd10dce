using Microsoft.AspNetCore.Http.HttpResults;
using VoiceHive.Orchestrator.Infrastructure;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// Development only: changes the simulated PMS's latency and failure rate at runtime, for everyone or
/// one hotel, so that PMS alerts can be brought about on demand. For operators (scope <c>operations</c>).
/// </summary>
public static class PmsSimulatorApi
{
    public static RouteGroupBuilder MapPmsSimulatorApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/admin/pms-simulator").WithTags("Development").RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        api.MapGet("/", (PmsSimulatorSettings settings) => TypedResults.Ok(Describe(settings)));
        api.MapPut("/", Update);
        api.MapDelete("/", (PmsSimulatorSettings settings) =>
        {
            settings.Reset();
            return TypedResults.Ok(Describe(settings));
        });
        return api;
    }

    public static Results<Ok<SimulatorState>, ValidationProblem> Update(SimulatorUpdate update, PmsSimulatorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        if (update.LatencyMedianMs is < 0 or > 60_000)
        {
            errors["latencyMedianMs"] = ["from 0 to 60000"];
        }

        if (update.LatencyP95Ms is < 0 or > 120_000 || update.LatencyP95Ms < update.LatencyMedianMs)
        {
            errors["latencyP95Ms"] = ["from latencyMedianMs to 120000"];
        }

        if (update.FailureRate is < 0 or > 1)
        {
            errors["failureRate"] = ["from 0 to 1"];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationFailed(errors);
        }

        settings.Set(update.HotelId, new SimulatorProfile(update.LatencyMedianMs, update.LatencyP95Ms, update.FailureRate));
        return TypedResults.Ok(Describe(settings));
    }

    private static SimulatorState Describe(PmsSimulatorSettings settings) => new(settings.Default, settings.Hotels);
}

public sealed record SimulatorUpdate(string? HotelId, double LatencyMedianMs, double LatencyP95Ms, double FailureRate);

public sealed record SimulatorState(SimulatorProfile Default, IReadOnlyDictionary<string, SimulatorProfile> Hotels);
