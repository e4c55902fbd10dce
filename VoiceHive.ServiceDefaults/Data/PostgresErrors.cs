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

    private static string Named(string prefix, string? name) => string.IsNullOrEmpty(name) ? "" : prefix + name;
}
