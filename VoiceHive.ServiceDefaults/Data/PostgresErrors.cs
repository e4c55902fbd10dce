using System.Text;
using Npgsql;

namespace VoiceHive.ServiceDefaults.Data;

/// <summary>What a log line or a span may say about a PostgreSQL error.</summary>
public static class PostgresErrors
{
    /// <summary>
    /// The error's code and the constraint or column it concerns; not its message text, which can quote the value the
    /// server refused (<c>invalid input syntax for type uuid: "…"</c>), nor its detail (<c>Key (…)=(…)</c>).
    /// </summary>
    public static string Describe(PostgresException exception) =>
        $"SQLSTATE {exception.SqlState}{Named(" on constraint ", exception.ConstraintName)}{Named(" on column ", exception.ColumnName)}";

    /// <summary>
    /// The exception as a log record may carry it: itself when no <see cref="PostgresException"/> is in its chain,
    /// otherwise a <see cref="RedactedException"/> with the same types and frames and each PostgreSQL error's message
    /// replaced by <see cref="Describe"/>. A log writes an exception's <c>ToString()</c>, which repeats every message
    /// in the chain (and a PostgresException's own adds its detail, hint and where).
    /// </summary>
    public static Exception Redact(Exception exception) =>
        Quotes(exception) ? new RedactedException(MessageOf(exception), Text(exception), exception.StackTrace) : exception;

    /// <summary>
    /// A one-line reason for a start-up failure: the innermost exception's message, which says what an operator must fix
    /// (<c>password authentication failed for user …</c>, <c>database … does not exist</c>), except for PostgreSQL's data
    /// exceptions (SQLSTATE class 22), whose messages quote the value refused; those are described instead.
    /// </summary>
    public static string Reason(Exception exception) => exception.GetBaseException() switch
    {
        PostgresException postgres when postgres.SqlState.StartsWith("22", StringComparison.Ordinal) => Describe(postgres),
        var innermost => innermost.Message,
    };

    private static bool Quotes(Exception exception) => exception switch
    {
        PostgresException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(Quotes),
        { InnerException: { } inner } => Quotes(inner),
        _ => false,
    };

    private static string MessageOf(Exception exception) => exception switch
    {
        PostgresException postgres => Describe(postgres),
        // Its message lists every inner message.
        AggregateException aggregate => $"One or more errors occurred. {string.Join(' ', aggregate.InnerExceptions.Select(e => $"({MessageOf(e)})"))}",
        _ => exception.Message,
    };

    // Exception.ToString()'s layout: type and message, the inner exceptions', then the frames.
    private static string Text(Exception exception)
    {
        var text = new StringBuilder(exception.GetType().FullName).Append(": ").Append(MessageOf(exception));
        IEnumerable<Exception> inners = exception is AggregateException aggregate ? aggregate.InnerExceptions
            : exception.InnerException is { } one ? [one] : [];
        foreach (var inner in inners)
        {
            text.Append(" ---> ").Append(Text(inner)).AppendLine().Append("   --- End of inner exception stack trace ---");
        }

        if (exception.StackTrace is { } frames)
        {
            text.AppendLine().Append(frames);
        }

        return text.ToString();
    }

    private static string Named(string prefix, string? name) => string.IsNullOrEmpty(name) ? "" : prefix + name;
}

/// <summary>
/// An exception whose chain held a <see cref="PostgresException"/>, as <see cref="PostgresErrors.Redact"/> hands it to a
/// logger: <see cref="Exception.ToString"/> gives the original chain's types and frames, with messages that quote nothing.
/// </summary>
public sealed class RedactedException : Exception
{
    private readonly string _text;
    private readonly string? _stackTrace;

    internal RedactedException(string message, string text, string? stackTrace)
        : base(message) => (_text, _stackTrace) = (text, stackTrace);

    public override string? StackTrace => _stackTrace;

    public override string ToString() => _text;
}
