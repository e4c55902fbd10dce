using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using VoiceHive.Orchestrator.Infrastructure;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// Development only: changes the simulated PMS's latency and failure rate at runtime, for everyone or
/// one hotel, so that PMS alerts can be brought about on demand; every replica takes the change
/// (<see cref="SimulatorSync"/>). For operators (scope <c>operations</c>).
/// </summary>
public static class PmsSimulatorApi
{
    public static RouteGroupBuilder MapPmsSimulatorApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/admin/pms-simulator").WithTags("Development").RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        api.MapGet("/", (PmsSimulatorSettings settings) => TypedResults.Ok(Describe(settings)));
        api.MapPut("/", Update).ProducesValidationProblem();
        api.MapDelete("/", async Task<Ok<SimulatorState>> (PmsSimulatorSettings settings, SimulatorSync sync) =>
        {
            await sync.PublishAsync(null);
            return TypedResults.Ok(Describe(settings));
        });
        return api;
    }

    public static async Task<Ok<SimulatorState>> Update(SimulatorUpdate update, PmsSimulatorSettings settings, SimulatorSync sync)
    {
        await sync.PublishAsync(settings.With(update.HotelId, new SimulatorProfile(update.LatencyMedianMs, update.LatencyP95Ms, update.FailureRate)));
        return TypedResults.Ok(Describe(settings));
    }

    private static SimulatorState Describe(PmsSimulatorSettings settings) => new(settings.Default, settings.Hotels);
}

public sealed record SimulatorUpdate(
    string? HotelId,
    [property: Range(0, 60_000, ErrorMessage = "from 0 to 60000")] double LatencyMedianMs,
    [property: Range(0, 120_000, ErrorMessage = SimulatorUpdate.P95Rule)]
    [property: NotBelowMedian(ErrorMessage = SimulatorUpdate.P95Rule)]
    double LatencyP95Ms,
    [property: Range(0, 1, ErrorMessage = "from 0 to 1")] double FailureRate)
{
    private const string P95Rule = "from latencyMedianMs to 120000";
}

/// <summary>The p95 latency of a <see cref="SimulatorUpdate"/> is at least its median.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotBelowMedianAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        validationContext.ObjectInstance is SimulatorUpdate update && value is double p95 && p95 < update.LatencyMedianMs
            ? new ValidationResult(ErrorMessage, [validationContext.MemberName ?? nameof(SimulatorUpdate.LatencyP95Ms)])
            : ValidationResult.Success;
}

public sealed record SimulatorState(SimulatorProfile Default, IReadOnlyDictionary<string, SimulatorProfile> Hotels);
