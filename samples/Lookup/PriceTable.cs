// The in-memory table the lookup service answers from: a million keys, sorted, searched in place.
namespace Lookup;

/// <summary>
/// Keys 0, 3, 6, ... (one key in three is present), each with a 4-byte value: the key's row
/// number, so a client can check any answer without the table. Two flat arrays, built once and
/// read by every worker core at once: a lookup allocates nothing and takes no lock.
/// </summary>
internal sealed class PriceTable
{
    /// <summary>The value of a key that is not in the table.</summary>
    public const uint Missing = uint.MaxValue;

    private readonly uint[] _keys;
    private readonly uint[] _values;

    public PriceTable(int rows)
    {
        _keys = new uint[rows];
        _values = new uint[rows];
        for (int i = 0; i < rows; i++)
        {
            _keys[i] = (uint)i * 3;
            _values[i] = (uint)i;
        }
    }

    /// <summary>The value stored for <paramref name="key"/>, or <see cref="Missing"/>: a binary search, about 20 probes.</summary>
    public uint Find(uint key)
    {
        int row = Array.BinarySearch(_keys, key);
        return row >= 0 ? _values[row] : Missing;
    }
}
