// static: a fixed partition; cores never move (the baseline the reallocating policies are compared with).
namespace NetStack.IOKernel.Allocation;

/// <summary>Each latency-critical app keeps its guaranteed cores for the whole run; batch apps share the rest.</summary>
internal sealed class StaticAllocation : ICoreAllocationPolicy
{
    /// <inheritdoc />
    public string Name => "static";

    /// <inheritdoc />
    public bool Reallocates => false;

    /// <inheritdoc />
    public CongestionSignal Check(int appId, in AppView app, long now) => CongestionSignal.None;
}
