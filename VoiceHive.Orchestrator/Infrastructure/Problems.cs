using Microsoft.AspNetCore.Http.HttpResults;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>The problem+json answers the orchestrator's handlers give, with the types of <see cref="ProblemTypes"/>.</summary>
internal static class Problems
{
    /// <summary>422: the request is well formed, but names something that does not exist (an unknown hotel).</summary>
    public static ProblemHttpResult UnprocessableProblem(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = "The request refers to something that does not exist.",
            Type = ProblemTypes.Validation,
        });

    public static ProblemHttpResult NotFoundProblem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: ProblemTypes.NotFound);

    public static ProblemHttpResult ConflictProblem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: ProblemTypes.Conflict);

    public static ProblemHttpResult InvalidPayloadProblem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid payload", type: ProblemTypes.InvalidPayload);

    public static ProblemHttpResult TooLargeProblem(long limit) =>
        TypedResults.Problem($"The body exceeds {limit} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Payload too large", type: ProblemTypes.PayloadTooLarge);
}
