using Microsoft.AspNetCore.Http.HttpResults;

namespace VoiceHive.Orchestrator.Infrastructure;

/// <summary>The stable <c>type</c> URIs of every problem+json the orchestrator answers, and helpers to build them.</summary>
internal static class Problems
{
    private const string Base = "https://voicehive.dev/problems/";

    public const string Validation = Base + "validation";
    public const string NotFound = Base + "not-found";
    public const string Conflict = Base + "conflict";
    public const string Unauthorized = Base + "unauthorized";
    public const string PayloadTooLarge = Base + "payload-too-large";
    public const string InvalidPayload = Base + "invalid-payload";
    public const string DependencyUnavailable = Base + "dependency-unavailable";
    public const string Internal = Base + "internal";

    /// <summary>
    /// Gives the 400s of the built-in request validation (<c>AddValidation</c>) the orchestrator's stable type and
    /// title, and names each field as the client's JSON does (<c>hotelId</c>, not the property's <c>HotelId</c>).
    /// </summary>
    public static void NameValidationFailures(ProblemDetailsContext context)
    {
        if (context.ProblemDetails is HttpValidationProblemDetails { Status: StatusCodes.Status400BadRequest } problem
            && (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal)))
        {
            problem.Type = Validation;
            problem.Title = "One or more fields are invalid.";
            var errors = problem.Errors.ToDictionary(e => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(e.Key), e => e.Value);
            problem.Errors.Clear();
            foreach (var (field, messages) in errors)
            {
                problem.Errors[field] = messages;
            }
        }
    }

    /// <summary>422: the request is well formed, but names something that does not exist (an unknown hotel).</summary>
    public static ProblemHttpResult UnprocessableProblem(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = "The request refers to something that does not exist.",
            Type = Validation,
        });

    public static ProblemHttpResult NotFoundProblem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: NotFound);

    public static ProblemHttpResult ConflictProblem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: Conflict);

    public static ProblemHttpResult UnauthorizedProblem() =>
        TypedResults.Problem("A valid bearer token is required.", statusCode: StatusCodes.Status401Unauthorized,
            title: "Unauthorized", type: Unauthorized);

    public static ProblemHttpResult InvalidPayloadProblem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid payload", type: InvalidPayload);

    public static ProblemHttpResult TooLargeProblem(long limit) =>
        TypedResults.Problem($"The body exceeds {limit} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Payload too large", type: PayloadTooLarge);
}
