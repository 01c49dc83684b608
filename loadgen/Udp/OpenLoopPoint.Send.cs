// The sender threads of a udp point: each sends its share of the schedule at the intended times, whatever the answers do.
using System.Net.Sockets;
using HdrHistogram;
using NetStack.Measurement.Recording;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Threading;

namespace NetStack.LoadGen.Udp;

internal sealed partial class OpenLoopPoint
{
    /// <summary>An inline receiver reads at least once every this many sends, even with no gap to read in.</summary>
    private const int InlinePollEverySends = 8;

    /// <summary>One sender's own counters; only its thread writes them, the coordinator reads them after the join.</summary>
    private sealed class SenderState(int index, int core, StallWatch stalls)
    {
        public readonly int Index = index;
        public readonly int Core = core;
        public readonly StallWatch Stalls = stalls;
        public readonly LongHistogram LatenessNs = LatencyRecorder.NewHistogram();
        public long Sent;
        public long SentInWindow;
        public long SendErrors;
        public long AllocatedBytes;
        public Exception? Failure;
    }

    /// <summary>
    /// Sends requests Index, Index + S, Index + 2S, ... of the schedule (S senders): together they
    /// send the one Poisson sequence. A request is sent at its intended time or, when the sender is
    /// late, at once, and its lateness is recorded; sending stops at the point's end, so a sender
    /// that fell far behind leaves the rest unsent (and the point is flagged) rather than spill into
    /// the next point. With <see cref="UdpPointSpec.InlineReceive"/> the one sender also reads
    /// answers while it waits for its next send time, and after the last send it becomes the receiver.
    /// </summary>
    private void SendLoop(SenderState me)
    {
        try
        {
            Pin(me.Core);
            me.Stalls.Install(Clock.Now());
            SendRequests(me);
            if (_spec.InlineReceive)
            {
                // The only sender is also the receiver: it publishes its own count, then waits out the grace.
                _sentTotal = me.Sent;
                Volatile.Write(ref _sendingDone, 1);
                ReceiveAnswers(me.Stalls);
            }
        }
        catch (Exception e)
        {
            me.Failure = e;
        }
    }

    private void SendRequests(SenderState me)
    {
        ReadOnlySpan<long> offsets = _schedule.OffsetTicks;
        ReadOnlySpan<int> services = _schedule.ServiceNs;
        ReadOnlySpan<byte> types = _schedule.Types;
        Span<byte> datagram = stackalloc byte[WireProtocol.HeaderSize + _spec.PayloadBytes];
        bool inline = _spec.InlineReceive;
        Span<byte> answer = inline ? stackalloc byte[WireProtocol.MaxDatagramSize + 1] : [];
        long pollAbove = Clock.FromMicros(_spec.Limits.InlinePollAboveMicros);
        int stride = _senders.Length;
        ulong idBase = (ulong)_spec.Serial << 32;
        long spinBelow = Clock.FromMicros(_spec.Limits.SpinBelowMicros);
        long sleepAbove = Clock.FromMicros(_spec.Limits.SleepAboveMicros);
        long allocatedFrom = 0;
        bool measuring = false;
        var header = new RequestHeader { PayloadLength = (uint)_spec.PayloadBytes };
        int sendsSincePoll = 0;
        var busy = new BusyYield(_spec.Limits.BusyYieldMicros);

        for (int i = me.Index; i < offsets.Length; i += stride)
        {
            long intended = _startTicks + offsets[i];
            long now = Clock.Now();
            me.Stalls.Observe(now);
            while (now < intended)
            {
                long wait = intended - now;
                bool slept = false;
                if (inline)
                {
                    // Never sleep: answers arriving now are timed when read. One poll costs ~1-2 µs,
                    // so none is started in the last few µs before a send.
                    bool polled = wait > pollAbove;
                    if (polled)
                    {
                        sendsSincePoll = 0;
                    }
                    if (polled && !PollOnce(_receiver, answer) && wait > spinBelow)
                    {
                        Thread.Yield();
                        busy.GaveUp(now);
                    }
                    else
                    {
                        busy.Running(now);
                    }
                }
                else if (wait > sleepAbove)
                {
                    Thread.Sleep(1);
                    slept = true;
                    busy.GaveUp(now);
                }
                else if (wait > spinBelow)
                {
                    // A yield that comes back late is a stall: the thread was off its core, whoever took it.
                    Thread.Yield();
                    busy.GaveUp(now);
                }
                else
                {
                    busy.Running(now);
                }
                now = Clock.Now();
                if (slept)
                {
                    me.Stalls.Restart(now); // asleep on purpose, far from any send
                }
                else
                {
                    me.Stalls.Observe(now);
                }
            }
            if (now >= _endTicks)
            {
                break;
            }
            if (!measuring && intended >= _measureFromTicks)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }

            header.Type = types[i];
            header.Id = idBase | (uint)i;
            header.IntendedSendNs = Clock.ToNs(intended);
            header.ServiceNs = services[i];
            WireProtocol.WriteRequest(datagram, header);
            SocketError error = Send(datagram);
            me.Sent++;
            busy.Running(now);
            if (error != SocketError.Success)
            {
                me.SendErrors++;
            }
            // A late or very busy sender has no gaps to read in: it still reads now and then, so
            // answers are timed near their arrival and the socket's queue does not overflow.
            if (inline && ++sendsSincePoll >= InlinePollEverySends)
            {
                sendsSincePoll = 0;
                PollOnce(_receiver, answer);
            }
            if (measuring)
            {
                me.SentInWindow++;
                me.LatenessNs.RecordValue(Math.Min(Clock.ToNs(now - intended), LatencyRecorder.HighestTrackable));
            }
        }
        if (measuring)
        {
            me.AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
        }
    }

    /// <summary>One send; a full socket buffer (would-block) is retried until the point's end, since dropping it here would be a loss the server never saw.</summary>
    private SocketError Send(ReadOnlySpan<byte> datagram)
    {
        while (true)
        {
            _socket.Send(datagram, SocketFlags.None, out SocketError error);
            if (error != SocketError.WouldBlock || Clock.Now() >= _endTicks)
            {
                return error;
            }
        }
    }
}
