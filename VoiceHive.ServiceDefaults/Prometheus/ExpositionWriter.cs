using System.Buffers;
using System.Globalization;
using System.Text;

namespace VoiceHive.ServiceDefaults.Prometheus;

/// <summary>UTF-8 output for the exposition formats: escaping and Prometheus's spelling of numbers.</summary>
internal readonly struct ExpositionWriter(IBufferWriter<byte> output)
{
    public ExpositionWriter Ascii(string text)
    {
        var span = output.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        output.Advance(text.Length);
        return this;
    }

    public ExpositionWriter Raw(ReadOnlySpan<byte> bytes)
    {
        output.Write(bytes);
        return this;
    }

    /// <summary>Label values escape backslash, double quote and line feed; help text only backslash and line feed.</summary>
    public ExpositionWriter Escaped(string text, bool escapeQuotes)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? replacement = c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '"' when escapeQuotes => "\\\"",
                _ => null,
            };
            if (replacement is null)
            {
                continue;
            }

            Utf8(text.AsSpan(start, i - start));
            Ascii(replacement);
            start = i + 1;
        }

        Utf8(text.AsSpan(start));
        return this;
    }

    public ExpositionWriter Long(long value)
    {
        var span = output.GetSpan(20);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        output.Advance(written);
        return this;
    }

    public ExpositionWriter Double(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return Ascii("+Inf");
        }

        if (double.IsNegativeInfinity(value))
        {
            return Ascii("-Inf");
        }

        if (double.IsNaN(value))
        {
            return Ascii("NaN");
        }

        var span = output.GetSpan(32);
        value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        // Go (and so every other exporter a dashboard sums with) writes 1e-05, not 1E-05.
        var exponent = span[..written].IndexOf((byte)'E');
        if (exponent >= 0)
        {
            span[exponent] = (byte)'e';
        }

        output.Advance(written);
        return this;
    }

    private void Utf8(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        // Lone surrogates (invalid UTF-16) become U+FFFD rather than invalid UTF-8 in the exposition.
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        var written = Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }
}
