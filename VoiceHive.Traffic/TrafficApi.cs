using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;

namespace VoiceHive.Traffic;

/// <summary>
/// <c>/traffic</c>: read the generator's state, switch it on or off, change its rate. Operators only (scope
/// <c>operations</c>): the AppHost's dashboard commands call it with an operator's token.
/// </summary>
public static class TrafficApi
{
    public static RouteGroupBuilder MapTrafficApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/traffic").WithTags("Traffic").RequireAuthorization(AuthenticationExtensions.OperationsPolicy);
        api.MapGet("/", (TrafficState state) => TypedResults.Ok(state.Status()));
        api.MapPut("/", Update).ProducesValidationProblem();
        return api;
    }

    public static Ok<TrafficStatus> Update(TrafficUpdate update, TrafficState state)
    {
        state.Set(update.Running, update.CallsPerSecond);
        return TypedResults.Ok(state.Status());
    }

    public static IHostApplicationBuilder AddTraffic(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TrafficOptions>().BindConfiguration(TrafficOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new TrafficState(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrafficOptions>>().Value));
        builder.Services.AddSingleton<TrafficMetrics>();
        builder.Services.AddHttpClient<OrchestratorClient>((sp, client) =>
            client.BaseAddress = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrafficOptions>>().Value.Orchestrator);
        builder.Services.AddHostedService<TrafficGenerator>();
        builder.Services.AddValidation();
        return builder;
    }
}

/// <summary>A change to the generator: either field may be left out.</summary>
public sealed record TrafficUpdate(
    bool? Running,
    [property: Range(TrafficState.MinimumRate, TrafficState.MaximumRate, ErrorMessage = TrafficUpdate.RateRule)] double? CallsPerSecond)
{
    // RangeAttribute puts its own bounds in as {1} and {2}.
    private const string RateRule = "Calls per second, from {1} to {2}.";
}
