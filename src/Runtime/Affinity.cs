// Pins the calling thread to one core through libc's sched_setaffinity.
using System.Runtime.InteropServices;

namespace NetStack.Runtime;

/// <summary>A core that does not exist or that this process may not run on.</summary>
internal sealed class CoreNotAvailableException(string message) : Exception(message);

/// <summary>Core affinity. A new thread starts with the affinity of the thread that created it
/// (Linux's rule, which .NET's threads follow), so every dedicated thread calls
/// <see cref="PinCurrentThread"/> itself, first thing, and <see cref="MoveProcessThreads"/> keeps a
/// process's other threads, and the ones they create later, off the dedicated cores.</summary>
internal static partial class Affinity
{
    private const int MaskBytes = 128; // 1024 CPUs, glibc's cpu_set_t

    /// <summary>A "core" that means: do not pin. Several carriers may be unpinned, for tests that run
    /// more workers than the machine has cores, or where pinning is refused.</summary>
    public const int Unpinned = -1;

    /// <summary>The cores this process may run on, in ascending order: as the calling thread's
    /// affinity says, or, once <see cref="MoveProcessThreads"/> has narrowed every thread's, as it
    /// said before that.</summary>
    public static IReadOnlyList<int> AvailableCores() => s_coresBeforeMove ?? ThreadCores();

    /// <summary>The process's cores before its threads were moved; null until then.</summary>
    private static IReadOnlyList<int>? s_coresBeforeMove;

    /// <summary>
    /// Sets the affinity of every thread this process has now to <paramref name="cores"/>. The
    /// threads they start later inherit it: the thread pool's workers, timers, the host's logging.
    /// A dedicated thread started afterwards pins itself to its own core, which it may, since
    /// <see cref="AvailableCores"/> still answers what the process could run on before. Returns the
    /// number of threads moved (a thread that ended meanwhile is skipped); 0 off Linux.
    /// </summary>
    public static int MoveProcessThreads(IReadOnlyList<int> cores)
    {
        if (!OperatingSystem.IsLinux() || cores.Count == 0)
        {
            return 0;
        }
        s_coresBeforeMove ??= ThreadCores();
        Span<byte> mask = stackalloc byte[MaskBytes];
        mask.Clear();
        foreach (int core in cores)
        {
            if (core < 0 || core >= MaskBytes * 8)
            {
                throw new CoreNotAvailableException($"core {core} does not exist; valid cores: {Describe(AvailableCores())}");
            }
            mask[core >> 3] |= (byte)(1 << (core & 7));
        }
        int moved = 0;
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (int.TryParse(Path.GetFileName(task), out int tid)
                && SchedSetAffinity(tid, MaskBytes, ref MemoryMarshal.GetReference(mask)) == 0)
            {
                moved++;
            }
        }
        return moved;
    }

    /// <summary>The calling thread's cores, in ascending order.</summary>
    private static IReadOnlyList<int> ThreadCores()
    {
        if (!OperatingSystem.IsLinux())
        {
            return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        }

        Span<byte> mask = stackalloc byte[MaskBytes];
        if (SchedGetAffinity(0, MaskBytes, ref MemoryMarshal.GetReference(mask)) != 0)
        {
            return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        }

        var cores = new List<int>();
        for (int cpu = 0; cpu < MaskBytes * 8; cpu++)
        {
            if ((mask[cpu >> 3] & (1 << (cpu & 7))) != 0)
            {
                cores.Add(cpu);
            }
        }
        return cores;
    }

    /// <summary>Throws <see cref="CoreNotAvailableException"/> naming the valid cores when any
    /// of <paramref name="cores"/> is missing or appears twice.</summary>
    public static void Validate(IEnumerable<int> cores, string what = "core")
    {
        IReadOnlyList<int> available = AvailableCores();
        var seen = new HashSet<int>();
        foreach (int core in cores)
        {
            if (core == Unpinned)
            {
                continue;
            }
            if (!available.Contains(core))
            {
                throw new CoreNotAvailableException(
                    $"{what} {core} does not exist or is not allowed; valid cores: {Describe(available)}");
            }
            if (!seen.Add(core))
            {
                throw new CoreNotAvailableException($"{what} {core} is given twice; each dedicated thread needs its own core");
            }
        }
    }

    /// <summary>Tests only: called before every pin, and may throw to stand for a core the OS refuses.</summary>
    internal static Action<int>? BeforePinForTests;

    /// <summary>Pins the calling thread to <paramref name="core"/>.</summary>
    public static void PinCurrentThread(int core)
    {
        BeforePinForTests?.Invoke(core);
        if (!OperatingSystem.IsLinux() || core == Unpinned)
        {
            return; // Affinity is a Linux mechanism here; elsewhere threads run unpinned.
        }
        if (core < 0 || core >= MaskBytes * 8)
        {
            throw new CoreNotAvailableException($"core {core} does not exist; valid cores: {Describe(AvailableCores())}");
        }

        Span<byte> mask = stackalloc byte[MaskBytes];
        mask.Clear();
        mask[core >> 3] = (byte)(1 << (core & 7));
        if (SchedSetAffinity(0, MaskBytes, ref MemoryMarshal.GetReference(mask)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new CoreNotAvailableException(
                $"cannot pin to core {core} (errno {errno}); valid cores: {Describe(AvailableCores())}");
        }
    }

    /// <summary>"0-1" or "0,2,5": the cores in a short form for error messages.</summary>
    public static string Describe(IReadOnlyList<int> cores)
    {
        if (cores.Count == 0)
        {
            return "none";
        }
        bool contiguous = cores[^1] - cores[0] == cores.Count - 1;
        return contiguous ? $"{cores[0]}-{cores[^1]}" : string.Join(',', cores);
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpusetsize, ref byte mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint cpusetsize, ref byte mask);
}
