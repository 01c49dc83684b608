// The write prefetch: on where the kernel says the CPU has prefetchw, and a hint that changes nothing.
using System.Runtime.InteropServices;
using NetStack.Runtime;
using Xunit;

namespace NetStack.Tests.Runtime;

public class WritePrefetchTests
{
    [Fact]
    public void IsOnExactlyWhereTheKernelListsTheCpusPrefetchw()
    {
        // The kernel's flag for CPUID 8000_0001h ECX bit 8, read independently of our decoding of it.
        bool listed = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
            && File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("flags", StringComparison.Ordinal)
                && l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("3dnowprefetch"));
        bool turnedOff = Environment.GetEnvironmentVariable("NETSTACK_PREFETCHW") is "off";
        Assert.Equal(listed && !turnedOff, WritePrefetch.Enabled);
        Assert.Equal(WritePrefetch.Enabled ? "prefetchw" : turnedOff ? "off (NETSTACK_PREFETCHW=off)" : "off (no prefetchw here)",
            WritePrefetch.Describe());
    }

    [Fact]
    public unsafe void AskingForLinesChangesNoByteOfThem()
    {
        byte[] buffer = GC.AllocateArray<byte>(4096, pinned: true);
        new Random(7).NextBytes(buffer);
        byte[] before = (byte[])buffer.Clone();
        fixed (byte* p = buffer)
        {
            for (int i = 0; i + 3 * 64 < buffer.Length; i += 64)
            {
                WritePrefetch.Lines(p + i, p + i + 63, p + i + 64, p + i + 3 * 64);
            }
        }
        Assert.Equal(before, buffer);
    }
}
