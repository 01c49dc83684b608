// Handlers with observable behaviour for the scheduler tests.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NetStack.Runtime.Scheduling;

namespace NetStack.Tests.Support;

/// <summary>Type 0 spins for its service time (the spin app); type 1 throws.</summary>
internal sealed class ThrowingForTypeOne : IRequestHandler
{
    private readonly global::NetStack.Apps.Spin.SpinApp _spin = new();

    /// <inheritdoc />
    public ValueTask HandleAsync(RequestContext ctx) =>
        ctx.Type == 1 ? throw new InvalidOperationException("handler failure on purpose") : _spin.HandleAsync(ctx);
}

/// <summary>Computes a Fibonacci chain with a checkpoint after every step, and keeps the result and the
/// threads it ran on: local state must survive every preemption.</summary>
internal sealed class FibonacciHandler(int steps, int spinPerStep = 20) : IRequestHandler
{
    /// <summary>Result per request id.</summary>
    public ConcurrentDictionary<long, ulong> Results { get; } = new();

    /// <summary>Distinct threads per request id.</summary>
    public ConcurrentDictionary<long, HashSet<int>> Threads { get; } = new();

    /// <summary>The expected result.</summary>
    public static ulong Expected(int steps)
    {
        ulong a = 0, b = 1;
        for (int i = 0; i < steps; i++)
        {
            (a, b) = (b, a + b);
        }
        return a;
    }

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
    public async ValueTask HandleAsync(RequestContext ctx)
    {
        var threads = new HashSet<int>();
        ulong a = 0, b = 1;
        for (int i = 0; i < steps; i++)
        {
            (a, b) = (b, a + b);
            threads.Add(Environment.CurrentManagedThreadId);
            Thread.SpinWait(spinPerStep);
            await ctx.Checkpoint();
        }
        Results[ctx.Id] = a;
        Threads[ctx.Id] = threads;
    }
}
