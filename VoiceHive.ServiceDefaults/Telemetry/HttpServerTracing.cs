using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace VoiceHive.ServiceDefaults.Telemetry;

/// <summary>
/// Completes ASP.NET Core's request activity the way OpenTelemetry.Instrumentation.AspNetCore
/// would (that package does not restore here): semantic-convention attributes, a
/// <c>{method} {route}</c> name, error status on 5xx, and no recording at all for probe and scrape
/// requests, so they never reach a trace backend. Only the path is recorded, never the query.
/// </summary>
internal sealed class HttpServerTracingStartupFilter(UntracedPaths untraced) : IStartupFilter
{
    private const string RequestActivityName = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var activity = Activity.Current;
            if (activity is null || activity.OperationName != RequestActivityName)
            {
                await nextMiddleware(context);
                return;
            }

            if (untraced.Contains(context.Request.Path))
            {
                // Children started from here on see an unsampled parent and are dropped too.
                activity.IsAllDataRequested = false;
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                await nextMiddleware(context);
                return;
            }

            try
            {
                await nextMiddleware(context);
            }
            finally
            {
                if (activity.IsAllDataRequested)
                {
                    Complete(activity, context);
                }
            }
        });
        next(app);
    };

    private static void Complete(Activity activity, HttpContext context)
    {
        var request = context.Request;
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        var status = context.Response.StatusCode;
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("network.protocol.version", request.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) ? request.Protocol[5..] : request.Protocol);
        activity.SetTag("http.response.status_code", status);
        if (route is not null)
        {
            activity.SetTag("http.route", route);
            activity.DisplayName = $"{request.Method} {route}";
        }
        else
        {
            activity.DisplayName = request.Method;
        }

        if (status >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

/// <summary>Request paths that are never traced: health probes and metric scrapes.</summary>
internal sealed class UntracedPaths(IEnumerable<string> paths)
{
    private readonly string[] _paths = paths.Select(p => p.TrimEnd('/')).ToArray();

    public bool Contains(PathString path)
    {
        // Routing matches /health/ as /health, so must this.
        var value = path.Value.AsSpan().TrimEnd('/');
        foreach (var candidate in _paths)
        {
            if (value.Equals(candidate, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
