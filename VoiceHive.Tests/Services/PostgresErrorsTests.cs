using System.Runtime.ExceptionServices;
using Npgsql;
using VoiceHive.ServiceDefaults.Data;

namespace VoiceHive.Tests.Services;

/// <summary>What a log record carries of an exception that holds a PostgreSQL error (see also <see cref="Orchestrator.PrivacyTests"/>).</summary>
public sealed class PostgresErrorsTests
{
    private const string Quoted = "+447700900987";

    [Fact]
    public void AnExceptionWithoutAPostgresErrorIsLoggedAsItIs()
    {
        var exception = Thrown(new InvalidOperationException("Nothing quoted.", new TimeoutException("Slow.")));

        Assert.Same(exception, PostgresErrors.Redact(exception));
    }

    [Fact]
    public void APostgresErrorAnywhereInTheChainIsDescribedAndTheFramesStay()
    {
        var wrapped = Thrown(new InvalidOperationException("A save failed.", Thrown(Refusal())));

        var redacted = PostgresErrors.Redact(wrapped);

        var text = redacted.ToString();
        Assert.IsType<RedactedException>(redacted);
        Assert.DoesNotContain(Quoted, text, StringComparison.Ordinal);
        Assert.Equal("A save failed.", redacted.Message);
        Assert.StartsWith("System.InvalidOperationException: A save failed. ---> Npgsql.PostgresException: SQLSTATE 22003", text, StringComparison.Ordinal);
        Assert.Contains("--- End of inner exception stack trace ---", text, StringComparison.Ordinal);
        Assert.Equal(wrapped.StackTrace, redacted.StackTrace);
        Assert.Contains(nameof(Thrown), text, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAggregateNamesEveryInnerErrorWithoutQuotingIt()
    {
        var aggregate = new AggregateException(Thrown(new TimeoutException("Slow.")), Thrown(Refusal()));

        var redacted = PostgresErrors.Redact(aggregate);

        Assert.DoesNotContain(Quoted, redacted.ToString(), StringComparison.Ordinal);
        Assert.Equal("One or more errors occurred. (Slow.) (SQLSTATE 22003)", redacted.Message);
    }

    [Fact]
    public void AStartUpReasonKeepsWhatAnOperatorMustFixAndDescribesADataException()
    {
        var refused = new PostgresException("password authentication failed for user \"voicehive\"", "FATAL", "FATAL", PostgresErrorCodes.InvalidPassword);

        Assert.Equal("28P01: password authentication failed for user \"voicehive\"", PostgresErrors.Reason(new InvalidOperationException("Migrating.", refused)));
        Assert.Equal("SQLSTATE 22003", PostgresErrors.Reason(new InvalidOperationException("Migrating.", Refusal())));
        Assert.Equal("Slow.", PostgresErrors.Reason(new InvalidOperationException("Migrating.", new TimeoutException("Slow."))));
    }

    private static PostgresException Refusal() =>
        new($"value \"{Quoted}\" is out of range for type integer", "ERROR", "ERROR", PostgresErrorCodes.NumericValueOutOfRange);

    // Thrown and caught, so that it has frames as a real one does.
    private static Exception Thrown(Exception exception)
    {
        try
        {
            ExceptionDispatchInfo.Throw(exception);
        }
        catch (Exception caught)
        {
            return caught;
        }

        return exception;
    }
}
