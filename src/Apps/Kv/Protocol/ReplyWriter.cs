// Writes reply bytes into the host's IBufferWriter: small fields in one span, large values in pieces.
using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>
/// A thin writer over the <see cref="IBufferWriter{T}"/> the host hands the engine. Fields are
/// written straight into the span it gives; a value is copied in pieces of whatever size the writer
/// offers, so a 1 MiB value never needs a 1 MiB contiguous span. The host's writer may throw when a
/// reply outgrows its bound; the engine holds no lock while it writes, only item references, which
/// it releases in <c>finally</c>.
/// </summary>
internal readonly struct ReplyWriter
{
    private readonly IBufferWriter<byte> _inner;

    public ReplyWriter(IBufferWriter<byte> inner) => _inner = inner;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= 256)
        {
            Span<byte> span = _inner.GetSpan(bytes.Length);
            bytes.CopyTo(span);
            _inner.Advance(bytes.Length);
        }
        else
        {
            WriteLarge(bytes);
        }
    }

    private void WriteLarge(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            Span<byte> span = _inner.GetSpan(Math.Min(bytes.Length, 16 * 1024));
            int n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            _inner.Advance(n);
            bytes = bytes[n..];
        }
    }

    public void Write(byte b)
    {
        _inner.GetSpan(1)[0] = b;
        _inner.Advance(1);
    }

    public void WriteCrlf()
    {
        Span<byte> span = _inner.GetSpan(2);
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        _inner.Advance(2);
    }

    /// <summary>A line: the text and its CRLF.</summary>
    public void WriteLine(ReadOnlySpan<byte> text)
    {
        Write(text);
        WriteCrlf();
    }

    public void WriteDecimal(ulong value)
    {
        Span<byte> span = _inner.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        _inner.Advance(written);
    }

    public void WriteDecimal(long value)
    {
        Span<byte> span = _inner.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        _inner.Advance(written);
    }

    /// <summary>The span to fill before <see cref="Commit"/>: for headers whose fields are computed in place.</summary>
    public Span<byte> GetSpan(int length) => _inner.GetSpan(length);

    public void Commit(int length) => _inner.Advance(length);
}
