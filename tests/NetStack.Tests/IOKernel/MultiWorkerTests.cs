// The kernel with several workers (unpinned, so a 2-core machine holds them): requests resume on another core, JBSQ holds its bound, d-FCFS keeps a flow on one worker.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NetStack.IOKernel;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class MultiWorkerTests
{
    [Fact]
    public void PreemptedRequestResumesOnAnotherWorkerWithItsStateIntact()
    {
        // Requests of a few milliseconds each, so the IOKernel, which shares the cores with three
        // unpinned carriers, is sure to run while some of them run and to preempt them.
        const int Steps = 1500;
        var handler = new FibonacciHandler(Steps, spinPerStep: 100);
        var nic = new ScriptedNic(Enumerable.Range(0, 60).Select(_ => (0, 0L)).ToArray());
        var options = Tcp.NetworkTestHost.Options("ps", 3, quantumMicros: 2);
        var kernel = new Kernel(options, nic, handler) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        Assert.Equal(60, nic.Answers.Count);
        Assert.All(handler.Results.Values, r => Assert.Equal(FibonacciHandler.Expected(Steps), r));
        Assert.True(kernel.Counters.Requeues > 0, "nothing was preempted");
        Assert.Contains(handler.Threads.Values, threads => threads.Count >= 2);
    }

    [Fact]
    public void NoWorkerEverHoldsMoreThanKRequests()
    {
        const int K = 3; // the mailbox ring rounds 3 up to 4 slots: only the IOKernel's count keeps it at 3
        var options = Tcp.NetworkTestHost.Options("cfcfs", 3);
        options.MailboxDepth = K;
        var kernel = default(Kernel);
        var handler = new MailboxWatcher(() => kernel!);
        var nic = new ScriptedNic(Enumerable.Range(0, 600).Select(i => (0, i % 10 == 0 ? 50_000L : 2_000L)).ToArray());
        kernel = new Kernel(options, nic, handler) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        Assert.Equal(600, nic.Answers.Count);
        Assert.InRange(handler.MaxSeen, 1, K);
        Assert.All(kernel.Carriers, c => Assert.True(c.Completed > 0, "every worker should have served"));
    }

    [Fact]
    public void DfcfsKeepsEveryFlowOnOneWorkerEndToEnd()
    {
        var handler = new FlowWatcher();
        // 8 flows (the flow hash is the id mod 8), 400 requests.
        var nic = new FlowNic(400, flows: 8);
        var options = Tcp.NetworkTestHost.Options("dfcfs", 3);
        var kernel = new Kernel(options, nic, handler) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        Assert.Equal(400, nic.Answered);
        Assert.Equal(8, handler.ThreadsPerFlow.Count);
        Assert.All(handler.ThreadsPerFlow.Values, threads => Assert.Single(threads));
        Assert.True(handler.ThreadsPerFlow.Values.SelectMany(t => t).Distinct().Count() >= 2, "flows should spread over the workers");
    }

    private sealed class MailboxWatcher(Func<Kernel> kernel) : IRequestHandler
    {
        public int MaxSeen;

        [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            foreach (Worker w in kernel().Workers)
            {
                int held = w.Mailbox.Count;
                if (held > MaxSeen)
                {
                    MaxSeen = held;
                }
            }
            long until = NetStack.Runtime.Clock.Now() + NetStack.Runtime.Clock.FromNs(ctx.ServiceNs);
            while (NetStack.Runtime.Clock.Now() < until)
            {
                await ctx.Checkpoint();
            }
        }
    }

    private sealed class FlowWatcher : IRequestHandler
    {
        public readonly ConcurrentDictionary<uint, ConcurrentDictionary<int, bool>> Flows = new();

        public IReadOnlyDictionary<uint, int[]> ThreadsPerFlow => Flows.ToDictionary(f => f.Key, f => f.Value.Keys.ToArray());

        public ValueTask HandleAsync(RequestContext ctx)
        {
            Flows.GetOrAdd((uint)(ctx.Id % 8), _ => new()).TryAdd(Environment.CurrentManagedThreadId, true);
            Thread.SpinWait(200);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Requests whose flow hash is their id mod <c>flows</c>, all at once.</summary>
    private sealed class FlowNic(int count, int flows) : global::NetStack.IOKernel.Nic.INicQueue
    {
        private int _next;
        private global::NetStack.IOKernel.Nic.INicHost? _host;
        public int Answered;

        public bool Exhausted => _next >= count;
        public bool Saturating => false;

        public void Attach(global::NetStack.IOKernel.Nic.INicHost host) => _host = host;

        public int RxBurst(long now, Span<global::NetStack.IOKernel.Nic.Arrival> batch)
        {
            int n = 0;
            while (n < batch.Length && _next < count)
            {
                // Spread the flow ids over the hash space, as a real hash would.
                uint flow = (uint)(_next % flows) * 2654435761u;
                batch[n++] = new global::NetStack.IOKernel.Nic.Arrival
                {
                    Id = _next, ArrivalTicks = now, FlowHash = flow, Buffer = -1,
                };
                _next++;
            }
            return n;
        }

        public void Transmit(GreenThread thread)
        {
            Answered++;
            _host!.Recycle(thread);
        }

        public void Reject(in global::NetStack.IOKernel.Nic.Arrival arrival, RequestStatus status) => Answered++;

        public bool TxBurst() => false;
    }
}
