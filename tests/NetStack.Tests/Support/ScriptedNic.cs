// A NIC queue for tests: delivers a fixed script of requests and records every answer in order.
using System.Collections.Concurrent;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;

namespace NetStack.Tests.Support;

/// <summary>Delivers its requests all at once on the first poll, and records answers (id, status, preemptions).</summary>
internal sealed class ScriptedNic(params (int Type, long ServiceNs)[] script) : INicQueue
{
    private int _next;
    private INicHost? _host;

    /// <summary>Answers in the order the IOKernel gave them.</summary>
    public ConcurrentQueue<(long Id, RequestStatus Status, int Preemptions)> Answers { get; } = new();

    /// <summary>Requests rejected on arrival.</summary>
    public ConcurrentQueue<long> Rejections { get; } = new();

    /// <summary>Why each rejection was made, in the same order.</summary>
    public ConcurrentQueue<RequestStatus> RejectionStatuses { get; } = new();

    /// <summary>More requests to deliver after the first script ran out (a test feeding the kernel as it goes).</summary>
    public ConcurrentQueue<(int Type, long ServiceNs)> Later { get; } = new();

    /// <inheritdoc />
    public bool Exhausted => _next >= script.Length;

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        int n = 0;
        while (n < batch.Length && _next < script.Length)
        {
            (int type, long serviceNs) = script[_next];
            batch[n++] = new Arrival { Id = _next, Type = type, ServiceNs = serviceNs, ArrivalTicks = Clock.Now(), FlowHash = (uint)_next, Buffer = -1 };
            _next++;
        }
        while (n < batch.Length && Later.TryDequeue(out var later))
        {
            batch[n++] = new Arrival { Id = _next, Type = later.Type, ServiceNs = later.ServiceNs, ArrivalTicks = Clock.Now(), FlowHash = (uint)_next, Buffer = -1 };
            _next++;
        }
        return n;
    }

    /// <inheritdoc />
    public void Attach(INicHost host) => _host = host;

    /// <inheritdoc />
    public void Transmit(GreenThread thread)
    {
        Answers.Enqueue((thread.Id, thread.Status, thread.Preemptions));
        _host!.Recycle(thread);
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status)
    {
        Rejections.Enqueue(arrival.Id);
        RejectionStatuses.Enqueue(status);
    }

    /// <inheritdoc />
    public bool TxBurst() => false;
}

/// <summary>Wraps a NIC queue and counts, per request id, how many answers it got.</summary>
internal sealed class CountingNic(INicQueue inner, int maxRequests) : INicQueue
{
    /// <summary>Answers per id (completions and rejections).</summary>
    public int[] AnswersPerId { get; } = new int[maxRequests];

    /// <summary>Ids received.</summary>
    public long Received { get; private set; }

    /// <inheritdoc />
    public bool Exhausted => inner.Exhausted;

    /// <inheritdoc />
    public bool Saturating => inner.Saturating;

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        int n = inner.RxBurst(now, batch);
        Received += n;
        return n;
    }

    /// <inheritdoc />
    public void Attach(INicHost host) => inner.Attach(host);

    /// <inheritdoc />
    public void Transmit(GreenThread thread)
    {
        AnswersPerId[thread.Id]++;
        inner.Transmit(thread);
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status)
    {
        AnswersPerId[arrival.Id]++;
        inner.Reject(arrival, status);
    }

    /// <inheritdoc />
    public bool TxBurst() => inner.TxBurst();
}
