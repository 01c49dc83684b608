// The receiver thread of a udp point: matches answers to requests by id and records latency from the intended send time.
using System.Net.Sockets;
using NetStack.Measurement.Recording;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Threading;

namespace NetStack.LoadGen.Udp;

internal sealed partial class OpenLoopPoint
{
    /// <summary>The receiver's counters; only its thread writes them, the coordinator reads them after the join.</summary>
    private sealed class ReceiverState(LatencyRecorder recorder, StallWatch? stalls)
    {
        public readonly LatencyRecorder Recorder = recorder;
        /// <summary>The receiver thread's watch; null when the sender receives inline (it uses its own).</summary>
        public readonly StallWatch? Stalls = stalls;
        public long Ok;
        public long OkInWindow;
        public long Rejected;
        public long Failed;
        public long Duplicates;
        public long Unknown;
        public long Preemptions;
        public long Unique;
        public long AllocatedBytes;
        public Exception? Failure;
    }

    private void ReceiveLoop()
    {
        try
        {
            Pin(_spec.ReceiverCore);
            _receiver.Stalls!.Install(Clock.Now());
            ReceiveAnswers(_receiver.Stalls);
        }
        catch (Exception e)
        {
            _receiver.Failure = e;
        }
    }

    /// <summary>
    /// Polls the non-blocking socket (a non-blocking Receive that finds nothing returns would-block
    /// instead of throwing, PLATFORM.md) until every sent request is answered or the grace after the
    /// last send has passed. Idle, it yields its core between polls so a sender or server sharing the
    /// core can run.
    /// </summary>
    private void ReceiveAnswers(StallWatch stalls)
    {
        ReceiverState me = _receiver;
        // One byte more than the largest datagram, so an oversized answer shows as such rather than truncated.
        Span<byte> buffer = stackalloc byte[WireProtocol.MaxDatagramSize + 1];
        GeneratorLimits limits = _spec.Limits;
        long allocatedFrom = 0;
        bool measuring = false;
        long graceEnd = long.MaxValue;
        int empty = 0;

        while (true)
        {
            int n = _socket.Receive(buffer, SocketFlags.None, out SocketError error);
            long now = Clock.Now();
            stalls.Observe(now);
            if (error == SocketError.Success)
            {
                empty = 0;
                Answer(me, buffer[..n], now);
            }
            else if (++empty > limits.ReceiverSpinPolls)
            {
                // Would-block, or a refused port reported by ICMP: either way nothing to read now.
                Thread.Yield();
            }

            if (!measuring && graceEnd == long.MaxValue && now >= _measureFromTicks)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            // Acquire: pairs with the coordinator's Volatile.Write, so _sentTotal is the final count.
            if (Volatile.Read(ref _sendingDone) != 0)
            {
                if (graceEnd == long.MaxValue)
                {
                    // The measured stretch ends with the sending: the grace computation below allocates once.
                    if (measuring)
                    {
                        me.AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
                        measuring = false;
                    }
                    graceEnd = now + GraceTicks(me);
                }
                if (me.Unique >= _sentTotal || now >= graceEnd)
                {
                    break;
                }
            }
        }
    }

    /// <summary>One non-blocking read; true when an answer was there (and was handled).</summary>
    private bool PollOnce(ReceiverState me, Span<byte> buffer)
    {
        int n = _socket.Receive(buffer, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success)
        {
            return false;
        }
        Answer(me, buffer[..n], Clock.Now());
        return true;
    }

    private void Answer(ReceiverState me, ReadOnlySpan<byte> datagram, long now)
    {
        if (!WireProtocol.TryParseResponse(datagram, out ResponseHeader h))
        {
            me.Unknown++;
            return;
        }
        int i = (int)(uint)h.Id;
        // The id's high half is the point's serial: an answer from an earlier point, or a forged one, matches nothing here.
        if ((uint)(h.Id >> 32) != _spec.Serial || (uint)i >= (uint)_answered.Length
            || h.Type != _schedule.Types[i] || h.IntendedSendNs != Clock.ToNs(_startTicks + _schedule.OffsetTicks[i]))
        {
            me.Unknown++;
            return;
        }
        if (_answered[i] != 0)
        {
            me.Duplicates++;
            return;
        }
        _answered[i] = 1;
        me.Unique++;

        switch (h.Status)
        {
            case ResponseStatus.Ok:
                me.Ok++;
                break;
            case ResponseStatus.RejectedOverload:
                me.Rejected++;
                return; // the handler never ran: its quick answer says nothing about latency
            default:
                me.Failed++;
                if (h.Status == ResponseStatus.BadRequest)
                {
                    return;
                }
                break;
        }
        me.Preemptions += h.Preemptions;
        // Throughput counts the answers the window received, whenever they were sent.
        if (h.Status == ResponseStatus.Ok && now >= _measureFromTicks && now < _endTicks)
        {
            me.OkInWindow++;
        }
        // Latency from this process's own clock only; the echoed stamp served above as a check. The
        // recorder keeps the window's arrivals, and logs every answer for the stall attribution.
        me.Recorder.RecordRequest(_schedule.Types[i], _startTicks + _schedule.OffsetTicks[i], now, _schedule.ServiceNs[i],
            (int)h.Preemptions, h.Status == ResponseStatus.Error);
    }

    /// <summary>max(MinGrace, GraceTimesP999 × the largest per-type p99.9 so far), capped at MaxGrace.</summary>
    private long GraceTicks(ReceiverState me)
    {
        long p999Ns = 0;
        foreach (HdrHistogram.LongHistogram h in me.Recorder.Latency)
        {
            if (h.TotalCount > 0)
            {
                p999Ns = Math.Max(p999Ns, h.GetValueAtPercentile(99.9));
            }
        }
        GeneratorLimits limits = _spec.Limits;
        double graceMicros = Math.Max(limits.MinGraceMillis * 1000, limits.GraceTimesP999 * p999Ns / 1000.0);
        return Clock.FromMicros(Math.Min(graceMicros, limits.MaxGraceSeconds * 1e6));
    }
}
