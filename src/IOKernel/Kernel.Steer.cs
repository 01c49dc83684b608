// Stage 2, steer: each arrival gets a pooled green thread and joins its app's queue, or is rejected.
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
            KernelApp app = _apps[a.AppId];
            GreenThread? t = _pool.TryRent();
            if (t is null)
            {
                Reject(a, now);
                continue;
            }
            t.Id = a.Id;
            t.Type = a.Type;
            t.ServiceNs = a.ServiceNs;
            t.ArrivalTicks = a.ArrivalTicks;
            t.QueuedTicks = now;
            t.FlowHash = a.FlowHash;
            t.Connection = a.Connection;
            t.Nic = nicIndex;
            t.NicToken = a.NicToken;
            t.ReplyToken = a.NicToken;
            t.Tag = a.Tag;
            t.Buffer = a.Buffer;
            t.SetRequest((byte*)a.Data, a.Length);
            // The app's fields are written only when they change; the reply writer is begun on the
            // carrier, on its own lines, when the handler first asks for it.
            t.SetApp(a.AppId, app.Handler, a.Protocol, a.Protocol?.ReplyHeaderBytes ?? 0, app.Options.MaxReplyBytes, app.QuantumTicks,
                a.ReplySender);
            t.MoveTo(GreenThreadState.Queued);
            if (!app.Policy!.Enqueue(t))
            {
                // Never queued: back to the pool as it came, and the request is refused.
                t.MoveTo(GreenThreadState.Done);
                _pool.Return(t);
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
        _nics[a.Nic].Reject(a, RequestStatus.RejectedOverload);
    }
}
