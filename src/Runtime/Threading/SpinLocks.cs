// Striped spin locks, one per cache line, for critical sections of a few hundred nanoseconds.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Threading;

/// <summary>
/// An array of test-and-test-and-set locks, each on its own cache line so two cores taking
/// neighbouring stripes do not share a line. Not reentrant. A holder never awaits, blocks, or
/// calls out while holding one, so a waiter spins only for the length of a short critical section
/// (kv's hash lookup or LRU relink, a pool's handful of pointer moves); <see cref="SpinWait"/> yields
/// to the OS if a holder was descheduled (this machine runs more threads than cores). Unlike
/// <see cref="Lock"/>, a waiter never sleeps and nothing is allocated: the first wait on a contended
/// <see cref="Lock"/> allocates its wait event (208 bytes, measured), on whichever data-path thread waits.
/// </summary>
internal sealed class SpinLocks
{
    private const int Stride = CacheLine.Size / sizeof(int);
    private readonly int[] _words;

    public SpinLocks(int count)
    {
        Count = count;
        _words = new int[count * Stride];
    }

    /// <summary>Locks in the array.</summary>
    public int Count { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enter(int index)
    {
        ref int word = ref _words[index * Stride];
        // Acquire: the CAS is a full barrier, so the holder's writes before Exit are visible here.
        if (Interlocked.CompareExchange(ref word, 1, 0) != 0)
        {
            EnterSlow(ref word);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter(int index) => Interlocked.CompareExchange(ref _words[index * Stride], 1, 0) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit(int index)
    {
        // Release: every write made under the lock is visible before the word reads 0.
        Volatile.Write(ref _words[index * Stride], 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void EnterSlow(ref int word)
    {
        var spin = new SpinWait();
        while (true)
        {
            // Read until free before trying, so waiters do not bounce the line between cores.
            while (Volatile.Read(ref word) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
            if (Interlocked.CompareExchange(ref word, 1, 0) == 0)
            {
                return;
            }
        }
    }
}
