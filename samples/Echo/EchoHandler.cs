// The echo handler: the request's payload, unchanged, is the reply's.
using NetStack.Runtime.Scheduling;

namespace Echo;

/// <summary>
/// Answers every request with its own payload. It never waits and never runs long, so it needs no
/// checkpoint: a handler only has to offer the IOKernel a preemption point when it can run longer
/// than the quantum (see the Lookup sample).
/// </summary>
internal sealed class EchoHandler : IRequestHandler
{
    public ValueTask HandleAsync(RequestContext ctx)
    {
        ctx.Reply.Write(ctx.Request);
        return ValueTask.CompletedTask;
    }
}
