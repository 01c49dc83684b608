// The two cores of a cross-core benchmark, and the pinning of BenchmarkDotNet's own thread to the first.
using System.Runtime.InteropServices;
using NetStack.Runtime;

namespace NetStack.MicroBenchmarks.Support;

/// <summary>
/// A cross-core benchmark runs its measured side on BenchmarkDotNet's thread, pinned to
/// <see cref="Main"/> (the IOKernel's place), and its other side on a <see cref="PinnedThread"/> on
/// <see cref="Partner"/> (a worker's). On the 2-core reference machine: cores 0 and 1.
/// </summary>
internal static partial class Cores
{
    private static readonly IReadOnlyList<int> s_available = Affinity.AvailableCores();

    /// <summary>The measured thread's core: the first this process may run on.</summary>
    public static int Main => s_available[0];

    /// <summary>The other side's core: the second.</summary>
    public static int Partner => s_available.Count >= 2
        ? s_available[1]
        : throw new CoreNotAvailableException($"a cross-core benchmark needs two cores; this process has {Affinity.Describe(s_available)}");

    /// <summary>Pins the calling thread (BenchmarkDotNet's) to <see cref="Main"/> until disposed, then
    /// gives it back the cores it had: run in-process (<c>--inProcess</c>), later benchmarks must not
    /// inherit the pin.</summary>
    public static MainThreadPin PinMainThread()
    {
        _ = Partner; // fail before pinning on a one-core machine
        IReadOnlyList<int> before = Affinity.AvailableCores();
        Affinity.PinCurrentThread(Main);
        return new MainThreadPin(before);
    }

    /// <summary>The pin of BenchmarkDotNet's thread; <see cref="Dispose"/> restores its former cores.</summary>
    internal sealed class MainThreadPin(IReadOnlyList<int> before) : IDisposable
    {
        public void Dispose()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }
            Span<byte> mask = stackalloc byte[MaskBytes];
            mask.Clear();
            foreach (int core in before)
            {
                mask[core >> 3] |= (byte)(1 << (core & 7));
            }
            if (SchedSetAffinity(0, MaskBytes, ref MemoryMarshal.GetReference(mask)) != 0)
            {
                throw new CoreNotAvailableException($"cannot restore the benchmark thread's cores (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    private const int MaskBytes = 128; // 1024 CPUs, glibc's cpu_set_t, as Affinity uses

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpusetsize, ref byte mask);
}
