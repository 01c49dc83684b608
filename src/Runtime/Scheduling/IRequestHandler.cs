// The app API: what a latency-critical app implements to serve requests on NetStack's carriers.
namespace NetStack.Runtime.Scheduling;

/// <summary>
/// Serves one request. Runs on a carrier thread as a green thread: it must not block the
/// carrier, and a long computation awaits <see cref="RequestContext.Checkpoint"/> at least every
/// microsecond or so, which is where the IOKernel can preempt it. Mark the method with
/// <c>[AsyncMethodBuilder(typeof(GreenThreadBuilder))]</c> so a preempted
/// request allocates nothing.
/// </summary>
public interface IRequestHandler
{
    /// <summary>Serves <paramref name="ctx"/>. An exception completes the request with an error status.</summary>
    ValueTask HandleAsync(RequestContext ctx);
}
