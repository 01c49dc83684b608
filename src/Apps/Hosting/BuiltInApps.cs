// serve's apps (spin, kv, batch) registered through NetStack.Hosting's public API, as any user registers theirs.
using Microsoft.Extensions.DependencyInjection;
using NetStack.Apps.Batch;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using NetStack.Apps.Spin;
using NetStack.Hosting;
using NetStack.IOKernel;
using NetStack.Runtime.Protocol;

namespace NetStack.Apps.Hosting;

/// <summary>Turns section "Apps" into registrations on <see cref="NetStackBuilder"/>.</summary>
internal static class BuiltInApps
{
    /// <summary>
    /// Registers the apps <see cref="AppsOptions.Run"/> names, in the order spin, kv, batch, each with
    /// the cores its options give it. Under a static partition the first latency-critical app holds
    /// every worker core batch does not (<c>Apps:Batch:MaxCores</c>, at most all but one).
    /// </summary>
    public static NetStackBuilder AddBuiltInApps(this NetStackBuilder netstack, AppsOptions apps, KernelOptions kernel)
    {
        IReadOnlyList<string> run = apps.RunList();
        bool batch = run.Contains("batch");
        int workers = kernel.WorkerCores.Length;
        int partition = kernel.CoreAllocation == "static" ? workers - (batch ? Math.Min(workers - 1, apps.Batch.MaxCores ?? 0) : 0) : 0;
        if (run.Contains("spin"))
        {
            SpinAppOptions spin = apps.Spin;
            netstack.AddLatencyCriticalApp<SpinApp>("spin",
                new NetStackPorts(spin.Udp ? spin.Port : null, spin.Tcp ? spin.Port : null, spin.Address),
                new SpinProtocol(SpinApp.TypeCount),
                o => Cores(o, spin.MaxCores, spin.GuaranteedCores ?? partition, spin.SpinningCores));
        }
        if (run.Contains("kv"))
        {
            KvAppOptions kv = apps.Kv;
            // One engine for the handler and the framer: the protocol counts connections into its stats.
            netstack.Services.AddSingleton(_ => new KvEngine(new KvStore(kv.Store())));
            netstack.AddLatencyCriticalApp("kv",
                // memcached's UDP is off unless a port is given (the 2018 amplification attacks).
                new NetStackPorts(kv.UdpPort == 0 ? null : kv.UdpPort, kv.Port, kv.Address),
                sp => sp.GetRequiredService<KvEngine>().Protocol,
                sp => new KvApp(sp.GetRequiredService<KvEngine>()),
                o =>
                {
                    Cores(o, kv.MaxCores, kv.GuaranteedCores ?? (run.Contains("spin") ? 0 : partition), kv.SpinningCores);
                    o.MaxReplyBytes = kv.MaxReplyBytes;
                });
        }
        if (batch)
        {
            netstack.AddBatchJob("batch", _ => new HashChainJob(workers), o => o.MaxCores = apps.Batch.MaxCores ?? workers);
        }
        return netstack;
    }

    private static void Cores(AppOptions options, int? max, int guaranteed, int spinning)
    {
        if (max is int m)
        {
            options.MaxCores = m;
        }
        options.GuaranteedCores = guaranteed;
        options.SpinningCores = spinning;
    }
}
