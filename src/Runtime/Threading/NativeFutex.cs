// libc's syscall(2) for futex(2): a park with a microsecond timeout and a wake that costs nothing when nobody sleeps.
using System.Runtime.InteropServices;

namespace NetStack.Runtime.Threading;

/// <summary>
/// FUTEX_WAIT and FUTEX_WAKE on a word in memory the GC does not move. .NET's own waits
/// (ManualResetEventSlim, Monitor) take milliseconds as their timeout, so a 200 µs park became a
/// 1 ms one; futex takes a timespec.
/// </summary>
internal static unsafe partial class NativeFutex
{
    private const int FutexWaitPrivate = 128; // FUTEX_WAIT | FUTEX_PRIVATE_FLAG: one process's threads only
    private const int FutexWakePrivate = 129; // FUTEX_WAKE | FUTEX_PRIVATE_FLAG

    /// <summary>SYS_futex: 202 on x86-64, 98 on arm64.</summary>
    private static readonly nint s_sysFutex = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 98 : 202;

    /// <summary>True where futex can be called (Linux on x86-64 or arm64).</summary>
    public static readonly bool Available = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall(nint number, int* address, nint op, nint value, TimeSpec* timeout, nint unused1, nint unused2);

    /// <summary>Sleeps while <c>*address == expected</c>, at most <paramref name="timeoutNs"/>; returns at
    /// once if the word already differs, when woken, on a signal, or at the timeout.</summary>
    public static void Wait(int* address, int expected, long timeoutNs)
    {
        var timeout = new TimeSpec { Seconds = timeoutNs / 1_000_000_000, Nanoseconds = timeoutNs % 1_000_000_000 };
        Syscall(s_sysFutex, address, FutexWaitPrivate, expected, &timeout, 0, 0);
    }

    /// <summary>Wakes one thread sleeping on <paramref name="address"/>.</summary>
    public static void Wake(int* address) => Syscall(s_sysFutex, address, FutexWakePrivate, 1, null, 0, 0);
}
