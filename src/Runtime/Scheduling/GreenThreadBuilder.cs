// The async method builder for handlers: suspended green threads live in pooled boxes, so preemption allocates nothing.
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace NetStack.Runtime.Scheduling;

/// <summary>
/// Builds the <see cref="ValueTask"/> of a handler marked
/// <c>[AsyncMethodBuilder(typeof(GreenThreadBuilder))]</c>. A handler that completes without
/// suspending touches no heap. On its first suspension (a preemption) its state machine moves
/// into a box taken from a pool shared by all carriers, and the box returns to the pool when the
/// IOKernel reads the result. The runtime's PoolingAsyncValueTaskMethodBuilder keeps only about
/// one box per core, while a processor-sharing queue may hold hundreds of suspended requests at
/// once, so that builder allocates in steady state and this one does not. Green threads do not
/// flow ExecutionContext (AsyncLocal values) across a preemption.
/// </summary>
public struct GreenThreadBuilder
{
    private IGreenThreadBox? _box;
    private Exception? _syncException;

    /// <summary>A builder (compiler-called).</summary>
    public static GreenThreadBuilder Create() => default;

    /// <summary>Runs the state machine to its first await (compiler-called).</summary>
    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine =>
        stateMachine.MoveNext();

    /// <summary>Unused: boxes are ours (compiler-called).</summary>
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine) { }

    /// <summary>The handler returned.</summary>
    public readonly void SetResult() => _box?.SetResult();

    /// <summary>The handler threw.</summary>
    public void SetException(Exception exception)
    {
        if (_box is null)
        {
            _syncException = exception;
        }
        else
        {
            _box.SetException(exception);
        }
    }

    /// <summary>The handler's task.</summary>
    public readonly ValueTask Task => _box is not null
        ? new ValueTask(_box, _box.Version)
        : _syncException is null ? default : ValueTask.FromException(_syncException);

    /// <summary>Suspends at an await (compiler-called).</summary>
    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(GetBox(ref stateMachine).MoveNextAction);

    /// <summary>Suspends at an await (compiler-called).</summary>
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(GetBox(ref stateMachine).MoveNextAction);

    private GreenThreadBox<TStateMachine> GetBox<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        if (_box is GreenThreadBox<TStateMachine> existing)
        {
            return existing;
        }
        GreenThreadBox<TStateMachine> box = GreenThreadBox<TStateMachine>.Rent();
        // This builder is a field of the state machine: set the box before copying the machine
        // into it, so the copy (which runs from now on) and the caller's Task both see the box.
        _box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}

/// <summary>The part of a box the builder needs without knowing the state machine's type.</summary>
internal interface IGreenThreadBox : IValueTaskSource
{
    short Version { get; }
    void SetResult();
    void SetException(Exception exception);
}

/// <summary>
/// A suspended handler's state machine and its completion, pooled per state-machine type: a small
/// cache per thread (the carrier that suspends a request usually finishes it too, and a carrier
/// takes no lock then), over a shared pool that caches exchange boxes with in batches when one runs
/// dry or overflows (requests that migrate between carriers move boxes with them).
/// </summary>
internal sealed class GreenThreadBox<TStateMachine> : IGreenThreadBox where TStateMachine : IAsyncStateMachine
{
    /// <summary>Boxes a thread keeps for itself; half go to or come from the shared pool at a time.</summary>
    private const int LocalBoxes = 32;

    [ThreadStatic]
    private static GreenThreadBox<TStateMachine>?[]? t_local;
    [ThreadStatic]
    private static int t_count;

    private static readonly Threading.SpinLocks s_lock = new(1);
    private static GreenThreadBox<TStateMachine>? s_free;
    private GreenThreadBox<TStateMachine>? _next;
    private ManualResetValueTaskSourceCore<bool> _core;

    private GreenThreadBox()
    {
        MoveNextAction = MoveNext;
        // Continuations run inline: the carrier that finishes the handler learns it at once.
        _core.RunContinuationsAsynchronously = false;
    }

    public TStateMachine? StateMachine;

    public Action MoveNextAction { get; }

    public short Version => _core.Version;

    /// <summary>Boxes ever created, for tests and benchmarks.</summary>
    public static int Created;

    public static GreenThreadBox<TStateMachine> Rent()
    {
        GreenThreadBox<TStateMachine>?[] local = LocalCache(out int count);
        if (count == 0)
        {
            Refill(local);
            count = t_count;
        }
        if (count > 0)
        {
            GreenThreadBox<TStateMachine> box = local[--t_count]!;
            local[t_count] = null;
            return box;
        }
        return NewBox();
    }

    /// <summary>More requests of this handler are suspended at once than ever before: the pool grows by one
    /// (bounded by the green threads, each holding at most one box).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static GreenThreadBox<TStateMachine> NewBox()
    {
        using Threading.PoolGrowth.Scope growth = Threading.PoolGrowth.Measure();
        Interlocked.Increment(ref Created);
        return new GreenThreadBox<TStateMachine>();
    }

    /// <summary>This thread's cache of boxes of this handler, made at its first box, and the boxes in it. A
    /// thread's first reads of this type's thread statics allocate their storage too (32 bytes for the
    /// references, 32 for the count, measured), once, inside the reads: all of it is this thread's share of the
    /// pool, counted as its growth, so both are read inside the scope. Once per suspension or return of a box.</summary>
    private static GreenThreadBox<TStateMachine>?[] LocalCache(out int count)
    {
        using Threading.PoolGrowth.Scope growth = Threading.PoolGrowth.Measure();
        count = t_count;
        return t_local ??= new GreenThreadBox<TStateMachine>?[LocalBoxes];
    }

    private void Return()
    {
        StateMachine = default;
        _core.Reset();
        GreenThreadBox<TStateMachine>?[] local = LocalCache(out int count);
        if (count == LocalBoxes)
        {
            Spill(local);
        }
        local[t_count++] = this;
    }

    /// <summary>Takes up to half a cache's worth from the shared pool. A lock, not a lock-free stack: an
    /// intrusive Treiber stack suffers ABA, and this is taken once per LocalBoxes / 2 boxes at most. A spin
    /// lock: the section moves a few pointers and throws nothing, and a contended <see cref="Lock"/> may put
    /// a carrier to sleep and allocates at its first wait (<see cref="Threading.SpinLocks"/>).</summary>
    private static void Refill(GreenThreadBox<TStateMachine>?[] local)
    {
        s_lock.Enter(0);
        while (t_count < LocalBoxes / 2 && s_free is { } box)
        {
            s_free = box._next;
            box._next = null;
            local[t_count++] = box;
        }
        s_lock.Exit(0);
    }

    /// <summary>Gives half the cache to the shared pool.</summary>
    private static void Spill(GreenThreadBox<TStateMachine>?[] local)
    {
        s_lock.Enter(0);
        while (t_count > LocalBoxes / 2)
        {
            GreenThreadBox<TStateMachine> box = local[--t_count]!;
            local[t_count] = null;
            box._next = s_free;
            s_free = box;
        }
        s_lock.Exit(0);
    }

    private void MoveNext() => StateMachine!.MoveNext();

    public void SetResult() => _core.SetResult(true);

    public void SetException(Exception exception) => _core.SetException(exception);

    public void GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            Return();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
