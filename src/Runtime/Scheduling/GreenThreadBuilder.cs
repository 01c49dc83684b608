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

/// <summary>A suspended handler's state machine and its completion, pooled per state-machine type.</summary>
internal sealed class GreenThreadBox<TStateMachine> : IGreenThreadBox where TStateMachine : IAsyncStateMachine
{
    private static readonly Lock s_lock = new();
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
        // A lock, not a lock-free stack: an intrusive Treiber stack suffers ABA, and this is taken
        // once per preempted request, uncontended almost always.
        lock (s_lock)
        {
            GreenThreadBox<TStateMachine>? box = s_free;
            if (box is not null)
            {
                s_free = box._next;
                box._next = null;
                return box;
            }
        }
        Interlocked.Increment(ref Created);
        return new GreenThreadBox<TStateMachine>();
    }

    private void Return()
    {
        StateMachine = default;
        _core.Reset();
        lock (s_lock)
        {
            _next = s_free;
            s_free = this;
        }
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
