using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace VoiceHive.Traffic;

/// <summary>The calls API as the telephony gateway uses it: start a call, say something, end it.</summary>
public sealed class OrchestratorClient(HttpClient http, IOptions<TrafficOptions> options)
{
    public async Task PlaceAsync(CallScript script, CancellationToken cancellationToken)
    {
        var call = await SendAsync("/api/calls", new { hotelId = script.HotelId, callerNumber = script.CallerNumber, language = "en" }, cancellationToken);
        var id = call.GetProperty("id").GetGuid();
        foreach (var utterance in script.Utterances)
        {
            await SendAsync($"/api/calls/{id}/turns", new { utterance }, cancellationToken);
        }

        await SendAsync($"/api/calls/{id}/end", new { outcome = script.Outcome }, cancellationToken);
    }

    private async Task<JsonElement> SendAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (options.Value.Token is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }
}
