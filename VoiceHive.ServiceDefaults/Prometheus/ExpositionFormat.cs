using Microsoft.Net.Http.Headers;

namespace VoiceHive.ServiceDefaults.Prometheus;

/// <summary>The two exposition formats a scrape can ask for with its <c>Accept</c> header.</summary>
internal enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4.</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0.0 text.</summary>
    OpenMetrics,
}

internal static class ExpositionFormats
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static string ContentType(this ExpositionFormat format) =>
        format == ExpositionFormat.OpenMetrics ? OpenMetricsContentType : PrometheusTextContentType;

    /// <summary>
    /// OpenMetrics when the client names <c>application/openmetrics-text</c> with a quality at least as
    /// high as any text/plain it also accepts; the classic text format otherwise (also for no header,
    /// <c>*/*</c>, or a header that cannot be parsed).
    /// </summary>
    public static ExpositionFormat Negotiate(IEnumerable<string?> acceptHeaders)
    {
        double openMetrics = 0, text = 0;
        foreach (var header in acceptHeaders)
        {
            if (string.IsNullOrEmpty(header) || !MediaTypeHeaderValue.TryParseList([header], out var mediaTypes))
            {
                continue;
            }

            foreach (var mediaType in mediaTypes)
            {
                var quality = mediaType.Quality ?? 1.0;
                if (mediaType.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase) && IsOpenMetrics1(mediaType))
                {
                    openMetrics = Math.Max(openMetrics, quality);
                }
                else if (mediaType.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase))
                {
                    text = Math.Max(text, quality);
                }
            }
        }

        return openMetrics > 0 && openMetrics >= text ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
    }

    private static bool IsOpenMetrics1(MediaTypeHeaderValue mediaType)
    {
        var version = mediaType.Parameters.FirstOrDefault(p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase))?.Value.Value?.Trim('"');
        return version is null || version.StartsWith("1.", StringComparison.Ordinal);
    }
}
