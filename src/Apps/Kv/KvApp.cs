// kv as a NetStack app: the handler that runs the engine's bounded steps with a checkpoint between them.
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;

namespace NetStack.Apps.Kv;

/// <summary>
/// The latency-critical handler of kv. A request (one memcached command, a multiget, a datagram or a
/// run of binary quiet gets) runs as engine steps of bounded work, with a checkpoint after each, so
/// under processor sharing a 100-key multiget yields to the GETs that arrive behind it. No lock is
/// held across a checkpoint: each step takes and releases its own (docs/kv.md).
/// </summary>
internal sealed class KvApp : IRequestHandler
{
    private readonly KvEngine _engine;

    /// <summary>kv's handler over <paramref name="engine"/>; kv's code is compiled first (<see cref="KvCode"/>).</summary>
    public KvApp(KvEngine engine)
    {
        _engine = engine;
        KvCode.Prepare();
    }

    /// <summary>The engine (store, protocol, stats).</summary>
    public KvEngine Engine => _engine;

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
    public async ValueTask HandleAsync(RequestContext ctx)
    {
        var cursor = default(KvCursor);
        KvStatus status;
        // The request's bytes stay in place until it completes; the span is taken afresh each step
        // because a span cannot live across an await.
        while ((status = _engine.Execute(ctx.Request, ref cursor, ctx.Reply)) == KvStatus.Continue)
        {
            await ctx.Checkpoint();
        }
        if (status == KvStatus.Close)
        {
            ctx.CloseConnectionAfterReply();
        }
        // The server's share of the request's latency, for `stats latency` (one clock read).
        _engine.Latency.Record(ctx.Type, ctx.ArrivalTicks, Clock.Now());
    }
}
