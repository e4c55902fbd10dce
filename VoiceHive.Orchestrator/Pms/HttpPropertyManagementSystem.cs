using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace VoiceHive.Orchestrator.Pms;

/// <summary>
/// A PMS behind HTTP at <c>https+http://pms</c> (resolved from <c>services:pms:https:0</c>, else
/// <c>services:pms:http:0</c>), through the ServiceDefaults resilience handler. Its API: <c>GET /hotels/{hotel}/reservations/{code}</c> (200 or 404)
/// and <c>GET /hotels/{hotel}/availability?night=yyyy-MM-dd</c>.
/// </summary>
public sealed class HttpPropertyManagementSystem(HttpClient client) : IPropertyManagementSystem
{
    /// <summary>Service discovery's form for "https when the PMS has an https address, else http".</summary>
    public const string BaseAddress = "https+http://pms";

    public async Task<Reservation?> FindReservationAsync(string hotelId, string confirmationCode, CancellationToken cancellationToken)
    {
        using var response = await SendAsync($"hotels/{Uri.EscapeDataString(hotelId)}/reservations/{Uri.EscapeDataString(confirmationCode)}", cancellationToken);
        return response.StatusCode == HttpStatusCode.NotFound ? null : await ReadAsync<Reservation>(response, cancellationToken);
    }

    public async Task<IReadOnlyList<RoomAvailability>> GetAvailabilityAsync(string hotelId, DateOnly night, CancellationToken cancellationToken)
    {
        var query = night.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using var response = await SendAsync($"hotels/{Uri.EscapeDataString(hotelId)}/availability?night={query}", cancellationToken);
        return await ReadAsync<List<RoomAvailability>>(response, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(path, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw new PmsUnavailableException("connection", "The PMS could not be reached.", exception);
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException exception)
        {
            throw new PmsUnavailableException("circuit_open", "The PMS circuit is open after repeated failures.", exception);
        }
        catch (Polly.Timeout.TimeoutRejectedException exception)
        {
            throw new PmsUnavailableException("timeout", "The PMS did not answer in time.", exception);
        }

        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound)
        {
            return response;
        }

        var status = (int)response.StatusCode;
        response.Dispose();
        throw new PmsUnavailableException($"http_{status}", $"The PMS answered {status}.");
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(JsonSerializerOptions.Web, cancellationToken)
                ?? throw new PmsUnavailableException("invalid_response", "The PMS answered an empty body.");
        }
        catch (JsonException exception)
        {
            throw new PmsUnavailableException("invalid_response", "The PMS answered a body that is not the expected JSON.", exception);
        }
    }
}
