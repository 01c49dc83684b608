// A set of small integers with O(1) add, remove and pick: which workers sit at a JBSQ level, which are overdue.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NetStack.Measurement.Model;

/// <summary>Members in a dense array, each one's position beside it; removal swaps the last member in.</summary>
internal sealed class IndexSet
{
    private readonly int[] _members;
    private readonly int[] _position;

    /// <param name="universe">Members are 0 to universe − 1.</param>
    public IndexSet(int universe)
    {
        _members = new int[universe];
        _position = new int[universe];
        Array.Fill(_position, -1);
    }

    /// <summary>Members.</summary>
    public int Count { get; private set; }

    /// <summary>The <paramref name="index"/>th member (any order).</summary>
    public int this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _members[index];
    }

    /// <summary>True when <paramref name="item"/> is a member.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(int item) => _position[item] >= 0;

    /// <summary>Adds a non-member.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int item)
    {
        Debug.Assert(_position[item] < 0, "already a member");
        _position[item] = Count;
        _members[Count++] = item;
    }

    /// <summary>Removes a member; the last member takes its place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(int item)
    {
        int at = _position[item];
        Debug.Assert(at >= 0, "not a member");
        int last = _members[--Count];
        _members[at] = last;
        _position[last] = at;
        _position[item] = -1;
    }
}
