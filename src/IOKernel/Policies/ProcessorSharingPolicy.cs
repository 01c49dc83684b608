// ps: c-FCFS plus a time slice (Shinjuku): a preempted request goes to the tail, keeping its arrival.
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>Centralized FCFS with preemption after a quantum: short requests are not stuck behind
/// long ones. A preempted request rejoins the tail with its original arrival stamp.</summary>
internal sealed class ProcessorSharingPolicy(double quantumMicros) : CentralFcfsPolicy
{
    private readonly long _quantumTicks = Clock.FromMicros(quantumMicros);

    /// <inheritdoc />
    public override string Name => "ps";

    /// <inheritdoc />
    public override long QuantumTicks => _quantumTicks;

    /// <inheritdoc />
    public override void Requeue(GreenThread ctx) => RequeueAtTail(ctx);
}
