using System.Diagnostics;
using Npgsql;
using VoiceHive.ServiceDefaults.Data;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Npgsql records a failing command's exception on its span (<see cref="Activity.AddException"/>), message included,
/// and PostgreSQL's message text can quote the value it refused: <c>invalid input syntax for type integer: "+44…"</c>.
/// The event's stack trace is the exception's <c>ToString()</c>, which repeats the message and, for a
/// <see cref="PostgresException"/>, adds its detail, hint and context. This listener gives the event both before it is
/// added: a message that quotes nothing (<see cref="PostgresErrors.Describe"/>), and the type, that message and the
/// frames as the stack trace. Npgsql itself puts only the SQLSTATE in the span's status.
/// Other Npgsql errors (a refused connection, a timeout) name hosts and durations, not data, and are left as they are.
/// An instrumentation of the tracer provider: it lives and goes with it.
/// </summary>
internal sealed class DatabaseErrorRedaction : IDisposable
{
    /// <summary>Npgsql's <see cref="ActivitySource"/>.</summary>
    public const string NpgsqlSourceName = "Npgsql";

    private const string MessageTag = "exception.message";
    private const string StackTraceTag = "exception.stacktrace";

    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == NpgsqlSourceName,
        // It takes no part in sampling: the tracer provider alone decides which spans are recorded.
        Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
        ExceptionRecorder = Redact,
    };

    public DatabaseErrorRedaction() => ActivitySource.AddActivityListener(_listener);

    /// <summary>Tags given here are kept: <see cref="Activity.AddException"/> adds its own message and stack trace only where none was given.</summary>
    internal static void Redact(Activity activity, Exception exception, ref TagList tags)
    {
        if (exception is not PostgresException postgres || Contains(tags, MessageTag))
        {
            // Another listener (another host in the process: tests) gave the same tags already.
            return;
        }

        // The same text a log record gets (PostgresErrors.Redact): type, described message, frames.
        tags.Add(MessageTag, PostgresErrors.Describe(postgres));
        tags.Add(StackTraceTag, PostgresErrors.Redact(postgres).ToString());
    }

    private static bool Contains(in TagList tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return true;
            }
        }

        return false;
    }

    public void Dispose() => _listener.Dispose();
}
