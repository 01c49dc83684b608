// Stage 2, steer: each arrival reserves a green thread and joins its app's queue by value, or is rejected.
using System.Runtime.CompilerServices;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

internal sealed unsafe partial class Kernel
{
    private void Steer(Span<Arrival> arrivals, int nicIndex, long now)
    {
        foreach (ref Arrival a in arrivals)
        {
            a.Nic = nicIndex;
            Counters.Received++;
            if ((uint)a.AppId >= (uint)_apps.Length || !_apps[a.AppId].IsLatencyCritical)
            {
                Counters.Misaddressed++;
                _nics[nicIndex].Reject(a, RequestStatus.BadRequest);
                continue;
            }
            if (_stopRequested)
            {
                Counters.ShutdownRefusals++;
                _nics[nicIndex].Reject(a, RequestStatus.ShuttingDown);
                continue;
            }
            // Admitted by value: the green thread is reserved now and bound at dispatch (Bind).
            if (!_pool.TryReserve())
            {
                Reject(a, now);
                continue;
            }
            if (!_apps[a.AppId].Policy!.Enqueue(a, now))
            {
                _pool.Unreserve();
                Reject(a, now);
                continue;
            }
            Trace?.Add(a.Id, a.ArrivalTicks, TraceEventKind.Arrive, -1);
        }
    }

    /// <summary>
    /// Gives a request that has waited by value its green thread, as it leaves the queue: one returned
    /// a few requests ago (<see cref="GreenThreadPool.ReturnLag"/>), whose lines the pool asked for when
    /// it came back, so they are in this core's caches by now. The app's fields are written only when
    /// they change; the reply writer is begun on the carrier, on its own lines, when the handler first
    /// asks for it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private GreenThread Bind(ref Policies.QueuedRequest r)
    {
        ref Arrival a = ref r.Arrival;
        KernelApp app = _apps[a.AppId];
        GreenThread t = _pool.RentReserved();
        t.Id = a.Id;
        t.Type = a.Type;
        t.ServiceNs = a.ServiceNs;
        t.ArrivalTicks = a.ArrivalTicks;
        t.QueuedTicks = r.QueuedTicks;
        t.FlowHash = a.FlowHash;
        t.Connection = a.Connection;
        t.Nic = a.Nic;
        t.NicToken = a.NicToken;
        t.ReplyToken = a.NicToken;
        t.Tag = a.Tag;
        t.Buffer = a.Buffer;
        t.SetRequest((byte*)a.Data, a.Length);
        t.SetApp(a.AppId, app.Handler, a.Protocol, a.Protocol?.ReplyHeaderBytes ?? 0, app.Options.MaxReplyBytes, app.QuantumTicks,
            a.ReplySender);
        t.MoveTo(GreenThreadState.Queued);
        return t;
    }

    private void Reject(in Arrival a, long now)
    {
        Counters.Rejected++;
        Trace?.Add(a.Id, now, TraceEventKind.Reject, -1);
        _nics[a.Nic].Reject(a, RequestStatus.RejectedOverload);
    }
}
