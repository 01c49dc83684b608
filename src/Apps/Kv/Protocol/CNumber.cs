// Numbers read the way memcached reads them: C's strtoul/strtol family behind its safe_* wrappers.
using System.Runtime.CompilerServices;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>
/// memcached parses every number with <c>strtoull</c>/<c>strtol</c> (util.c's <c>safe_strto*</c>), and
/// clients can see the consequences: leading white space and a sign are accepted, the number may be
/// followed by any white-space byte, a negative number is refused only by the unsigned parsers' check
/// for a '-' when the result looks negative, and a 64-bit <c>long</c> is cut to the 32-bit field
/// (so flags 4294967297 store 1, and a length of 4294967298 reads 2 bytes). These methods reproduce
/// that over a span that stands for a NUL-terminated C string: its end, or a NUL byte, ends it.
/// </summary>
internal static class CNumber
{
    /// <summary><c>safe_strtoull</c>: an unsigned 64-bit decimal.</summary>
    public static bool TryParseUInt64(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        int i = SkipSpace(s);
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }
        int digitsStart = i;
        ulong result = 0;
        bool overflow = false;
        while (i < s.Length && (uint)(s[i] - '0') <= 9)
        {
            uint digit = (uint)(s[i] - '0');
            if (result > (ulong.MaxValue - digit) / 10)
            {
                overflow = true;
            }
            result = unchecked(result * 10 + digit);
            i++;
        }
        if (i == digitsStart || overflow || !EndsNumber(s, i))
        {
            return false;
        }
        if (negative)
        {
            result = unchecked(0 - result);
        }
        // util.c: only a result that is negative as a signed number is checked for a minus sign.
        if ((long)result < 0 && ContainsMinus(s))
        {
            return false;
        }
        value = result;
        return true;
    }

    /// <summary><c>safe_strtoul</c> into a 32-bit field: parsed as a 64-bit unsigned long, then truncated.</summary>
    public static bool TryParseUInt32(ReadOnlySpan<byte> s, out uint value)
    {
        bool ok = TryParseUInt64(s, out ulong wide);
        value = ok ? unchecked((uint)wide) : 0;
        return ok;
    }

    /// <summary><c>safe_strtol</c> into a 32-bit field: parsed as a 64-bit long, then truncated.</summary>
    public static bool TryParseInt32(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        int i = SkipSpace(s);
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }
        int digitsStart = i;
        ulong magnitude = 0;
        ulong limit = negative ? 1UL << 63 : long.MaxValue;
        bool overflow = false;
        while (i < s.Length && (uint)(s[i] - '0') <= 9)
        {
            ulong next = magnitude * 10 + (uint)(s[i] - '0');
            if (magnitude > limit / 10 || next > limit)
            {
                overflow = true;
            }
            else
            {
                magnitude = next;
            }
            i++;
        }
        if (i == digitsStart || overflow || !EndsNumber(s, i))
        {
            return false;
        }
        long wide = negative ? unchecked((long)(0 - magnitude)) : (long)magnitude;
        value = unchecked((int)wide);
        return true;
    }

    /// <summary>C's <c>isspace</c> in the C locale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSpace(byte b) => b == ' ' || (uint)(b - '\t') <= '\r' - '\t';

    private static int SkipSpace(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && IsSpace(s[i]))
        {
            i++;
        }
        return i;
    }

    /// <summary>util.c accepts the number when the byte after it is white space or the string's end.</summary>
    private static bool EndsNumber(ReadOnlySpan<byte> s, int i) => i >= s.Length || s[i] == 0 || IsSpace(s[i]);

    private static bool ContainsMinus(ReadOnlySpan<byte> s)
    {
        int nul = s.IndexOf((byte)0);
        return (nul < 0 ? s : s[..nul]).Contains((byte)'-');
    }
}
