extern alias worker;

using System.Text.Json;
using Npgsql;
using EventFailure = worker::VoiceHive.Worker.Events.EventFailure;
using InvalidEventException = worker::VoiceHive.Worker.Events.InvalidEventException;

namespace VoiceHive.Tests.Worker;

/// <summary>A failed event's log line names the fault and quotes nothing from the event.</summary>
public sealed class EventFailureTests
{
    private const string Caller = "+447700900123";

    [Fact]
    public void AnInvalidEntryIsDescribedByTheWorkersOwnWords() =>
        Assert.Equal("call.ended without hotelId", EventFailure.Describe(new InvalidEventException("call.ended without hotelId")));

    [Fact]
    public void PostgreSqlErrorsGiveTheirCodeAndConstraintButNotTheirText()
    {
        var refused = new PostgresException($"invalid input syntax for type uuid: \"{Caller}\"", "ERROR", "ERROR", "22P02",
            detail: $"Key (caller)=({Caller}) is not present", constraintName: "fk_calls_hotel", columnName: "caller");

        var description = EventFailure.Describe(refused);

        Assert.Equal("SQLSTATE 22P02 on constraint fk_calls_hotel on column caller", description);
        Assert.DoesNotContain(Caller, description, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenJsonIsDescribedByItsPathOnly()
    {
        var broken = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<Dictionary<string, int>>($$"""{"caller": "{{Caller}}"}"""));

        var description = EventFailure.Describe(broken);

        Assert.Equal("invalid JSON at $.caller", description);
    }

    [Fact]
    public void AnyOtherExceptionsMessageStaysOut()
    {
        var description = EventFailure.Describe(new FormatException($"'{Caller}' is not a call id"));

        Assert.DoesNotContain(Caller, description, StringComparison.Ordinal);
        Assert.Contains("not logged", description, StringComparison.Ordinal);
    }
}
