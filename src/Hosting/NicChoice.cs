// Where the IOKernel's requests come from: the apps' ports (the default), or NIC queues the user supplies.
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;

namespace NetStack.Hosting;

/// <summary>
/// The NIC queues a host polls. By default, a UDP NIC and a TCP NIC for the apps' ports; a
/// <see cref="Factory"/> replaces them (an in-process source such as <see cref="SyntheticNic"/>, to
/// measure a handler without a network). Set it in <see cref="NetStackBuilder.ConfigureNics"/>.
/// </summary>
public sealed class NicChoice
{
    /// <summary>Makes the NIC queues for the registered apps (null: their ports).</summary>
    public Func<IReadOnlyList<AppRegistration>, KernelOptions, IReadOnlyList<INicQueue>>? Factory { get; set; }

    /// <summary>What the start-up line says the requests come from, when <see cref="Factory"/> is set.</summary>
    public string Description { get; set; } = "user-supplied NIC queues";
}
