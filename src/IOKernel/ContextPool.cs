// The pool of green threads: every request context is made before the run and reused after.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

/// <summary>A stack of free request contexts, used by the IOKernel thread only.</summary>
public sealed class ContextPool
{
    private readonly RequestContext[] _free;
    private int _count;

    /// <summary>Creates <paramref name="capacity"/> contexts, each wired to <paramref name="onDetachedCompletion"/>.</summary>
    public ContextPool(int capacity, Action<RequestContext> onDetachedCompletion)
    {
        _free = new RequestContext[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _free[i] = new RequestContext { DetachedCompletion = onDetachedCompletion };
        }
        _count = capacity;
        Capacity = capacity;
    }

    /// <summary>Contexts in all.</summary>
    public int Capacity { get; }

    /// <summary>Contexts free.</summary>
    public int Available => _count;

    /// <summary>Contexts in use (in queues or at workers).</summary>
    public int InUse => Capacity - _count;

    /// <summary>Takes a context, or null when all are in use.</summary>
    public RequestContext? TryRent() => _count == 0 ? null : _free[--_count];

    /// <summary>Returns a context, cleared for its next request.</summary>
    public void Return(RequestContext ctx)
    {
        Action<RequestContext>? detached = ctx.DetachedCompletion;
        ctx.Reset();
        ctx.DetachedCompletion = detached;
        _free[_count++] = ctx;
    }
}
