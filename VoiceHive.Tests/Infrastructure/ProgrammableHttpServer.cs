using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// A loopback HTTP server standing in for a dependency outside the system (a PMS vendor, say): each
/// request is answered by the next scripted responder, or by the fallback once the script is used up.
/// </summary>
public sealed class ProgrammableHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _script = new();

    private ProgrammableHttpServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<(string Method, string Path, string Body)> Requests { get; } = new();

    /// <summary>The headers of each request, in order.</summary>
    public ConcurrentQueue<Dictionary<string, string>> Headers { get; } = new();

    public Func<HttpContext, Task> Fallback { get; set; } = context =>
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        return context.Response.WriteAsync("ok");
    };

    public static async Task<ProgrammableHttpServer> StartAsync(int? port = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        port ??= TestDirectories.FreePort();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port.Value));
        var app = builder.Build();
        var server = new ProgrammableHttpServer(app, new Uri($"http://127.0.0.1:{port}"));
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            server.Requests.Enqueue((context.Request.Method, context.Request.Path.Value ?? "", await reader.ReadToEndAsync()));
            server.Headers.Enqueue(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            var responder = server._script.TryDequeue(out var next) ? next : server.Fallback;
            await responder(context);
        });
        await app.StartAsync();
        return server;
    }

    /// <summary>A stand-in for PagerDuty's Events API v2: every event is accepted (202) as PagerDuty answers it.</summary>
    public static async Task<ProgrammableHttpServer> StartPagerDutyAsync()
    {
        var server = await StartAsync();
        server.Fallback = context =>
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            return context.Response.WriteAsJsonAsync(new { status = "success", message = "Event processed", dedup_key = "k" });
        };
        return server;
    }

    public ProgrammableHttpServer Then(Func<HttpContext, Task> responder)
    {
        _script.Enqueue(responder);
        return this;
    }

    public ProgrammableHttpServer ThenStatus(int status) => Then(context =>
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
