// Stage 2, steer: each arrival gets a pooled green thread and joins its app's queue, or is rejected.
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

public sealed partial class IOKernel
{
    private void Steer(ReadOnlySpan<Arrival> arrivals, long now)
    {
        foreach (ref readonly Arrival a in arrivals)
        {
            Counters.Received++;
            if ((uint)a.AppId >= (uint)_apps.Length || !_apps[a.AppId].IsLatencyCritical)
            {
                Counters.Misaddressed++;
                _nic.Reject(a, RequestStatus.BadRequest);
                continue;
            }
            KernelApp app = _apps[a.AppId];
            RequestContext? ctx = _pool.TryRent();
            if (ctx is null)
            {
                Reject(a, now);
                continue;
            }
            ctx.Id = a.Id;
            ctx.Type = a.Type;
            ctx.ServiceNs = a.ServiceNs;
            ctx.ArrivalTicks = a.ArrivalTicks;
            ctx.QueuedTicks = now;
            ctx.FlowHash = a.FlowHash;
            ctx.AppId = a.AppId;
            ctx.NicToken = a.NicToken;
            ctx.EchoToken = a.EchoToken;
            ctx.NicQueue = a.NicQueue;
            ctx.Handler = app.Handler;
            if (!app.Policy!.Enqueue(ctx))
            {
                _pool.Return(ctx);
                Reject(a, now);
                continue;
            }
            Trace?.Add(a.Id, a.ArrivalTicks, TraceEventKind.Arrive, -1);
        }
    }

    private void Reject(in Arrival a, long now)
    {
        Counters.Rejected++;
        Trace?.Add(a.Id, now, TraceEventKind.Reject, -1);
        _nic.Reject(a, RequestStatus.RejectedOverload);
    }
}
