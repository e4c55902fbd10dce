using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace VoiceHive.Tests.Infrastructure;

/// <summary>
/// An OTLP collector stand-in on loopback that records what is posted to it: OTLP/HTTP
/// (<c>/v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>) on one port and OTLP/gRPC over
/// cleartext HTTP/2 on another. It answers each export with success and keeps the bodies.
/// </summary>
public sealed class FakeOtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeOtlpReceiver(WebApplication app, int httpPort, int grpcPort)
    {
        _app = app;
        HttpEndpoint = new Uri($"http://127.0.0.1:{httpPort}");
        GrpcEndpoint = new Uri($"http://127.0.0.1:{grpcPort}");
    }

    public Uri HttpEndpoint { get; }

    public Uri GrpcEndpoint { get; }

    /// <summary>Every export received: the path it was posted to, its body and its request headers.</summary>
    public ConcurrentQueue<(string Path, byte[] Body, IReadOnlyDictionary<string, string> Headers)> Received { get; } = new();

    public static async Task<FakeOtlpReceiver> StartAsync(int? httpPort = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var http = httpPort ?? TestDirectories.FreePort();
        var grpc = TestDirectories.FreePort();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, http, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, grpc, listen => listen.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        FakeOtlpReceiver? receiver = null;
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            receiver!.Received.Enqueue((context.Request.Path.Value ?? "", body.ToArray(), headers));
            if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
            {
                // An empty Export*ServiceResponse: one uncompressed, zero-length gRPC message, then status OK.
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.WriteAsync(new byte[5]);
                context.Response.AppendTrailer("grpc-status", "0");
            }
            else
            {
                context.Response.ContentType = "application/x-protobuf";
                context.Response.StatusCode = StatusCodes.Status200OK;
            }
        });
        receiver = new FakeOtlpReceiver(app, http, grpc);
        await app.StartAsync();
        return receiver;
    }

    public IReadOnlyList<(string Path, byte[] Body, IReadOnlyDictionary<string, string> Headers)> ReceivedOn(string pathSuffix) =>
        Received.Where(r => r.Path.EndsWith(pathSuffix, StringComparison.Ordinal)).ToList();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
