// The workers' next events (completion, end of a quantum, end of a preemption) in time order.
using System.Runtime.CompilerServices;

namespace NetStack.Measurement.Model;

/// <summary>
/// An indexed binary min-heap of every worker by the time of its next event; a worker with none
/// sits at <see cref="long.MaxValue"/>. Each worker has one event at a time, so moving its key is
/// the only update, in O(log workers), with nothing allocated.
/// </summary>
internal sealed class WorkerEventHeap
{
    private readonly int[] _heap;
    private readonly int[] _slot;
    private readonly long[] _at;

    /// <param name="workers">Workers, all starting with no event.</param>
    public WorkerEventHeap(int workers)
    {
        _heap = new int[workers];
        _slot = new int[workers];
        _at = new long[workers];
        for (int w = 0; w < workers; w++)
        {
            _heap[w] = w;
            _slot[w] = w;
            _at[w] = long.MaxValue;
        }
    }

    /// <summary>The worker whose event comes first.</summary>
    public int First
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _heap[0];
    }

    /// <summary>Its time (<see cref="long.MaxValue"/> when no worker has an event).</summary>
    public long FirstAt
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _at[_heap[0]];
    }

    /// <summary>Moves <paramref name="worker"/>'s event to <paramref name="at"/> (<see cref="long.MaxValue"/>: none).</summary>
    public void Set(int worker, long at)
    {
        long old = _at[worker];
        _at[worker] = at;
        if (at < old)
        {
            SiftUp(_slot[worker]);
        }
        else if (at > old)
        {
            SiftDown(_slot[worker]);
        }
    }

    private void SiftUp(int i)
    {
        int w = _heap[i];
        long key = _at[w];
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            int p = _heap[parent];
            if (_at[p] <= key)
            {
                break;
            }
            _heap[i] = p;
            _slot[p] = i;
            i = parent;
        }
        _heap[i] = w;
        _slot[w] = i;
    }

    private void SiftDown(int i)
    {
        int n = _heap.Length;
        int w = _heap[i];
        long key = _at[w];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n)
            {
                break;
            }
            if (child + 1 < n && _at[_heap[child + 1]] < _at[_heap[child]])
            {
                child++;
            }
            int c = _heap[child];
            if (_at[c] >= key)
            {
                break;
            }
            _heap[i] = c;
            _slot[c] = i;
            i = child;
        }
        _heap[i] = w;
        _slot[w] = i;
    }
}
