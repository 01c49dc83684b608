// PREFETCHW: take a line another core holds for writing, without a store waiting on it.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace NetStack.Runtime;

/// <summary>
/// Asks for up to four cache lines in the exclusive state, ahead of stores to them: <c>prefetchw</c>
/// on each address, in a 13-byte function called as an unmanaged function pointer (.NET has no
/// intrinsic for it: dotnet/runtime#106863). A store to a line the other core holds waits for that core's
/// copy to be invalidated, and x86 commits stores in order, so every later store (a mailbox push) waits
/// behind it and a run of them fills the store buffer; a prefetch for writing starts the same
/// invalidation without holding anything up, and several run at once.
/// </summary>
/// <remarks>Used where the CPU has it (CPUID 8000_0001h ECX bit 8, "3dnowprefetch"), on x64 Linux; elsewhere,
/// or with <c>NETSTACK_PREFETCHW=off</c>, a call does nothing. A hint: a stale address costs a useless fetch,
/// never a fault.</remarks>
internal static unsafe class WritePrefetch
{
    /// <summary>Whether <see cref="Lines"/> issues anything.</summary>
    public static readonly bool Enabled;

    private static readonly delegate* unmanaged[SuppressGCTransition]<void*, void*, void*, void*, void> s_prefetch;

    // prefetchw [rdi]; prefetchw [rsi]; prefetchw [rdx]; prefetchw [rcx]; ret (System V: the first four arguments).
    private static ReadOnlySpan<byte> Code => [0x0F, 0x0D, 0x0F, 0x0F, 0x0D, 0x0E, 0x0F, 0x0D, 0x0A, 0x0F, 0x0D, 0x09, 0xC3];

    private static readonly string s_source;

    static WritePrefetch()
    {
        if (Environment.GetEnvironmentVariable("NETSTACK_PREFETCHW") is "off")
        {
            s_source = "off (NETSTACK_PREFETCHW=off)";
            return;
        }
        s_source = "off (no prefetchw here)";
        if (!X86Base.IsSupported
            || (uint)X86Base.CpuId(unchecked((int)0x8000_0000), 0).Eax < 0x8000_0001u
            || (X86Base.CpuId(unchecked((int)0x8000_0001), 0).Ecx & (1 << 8)) == 0)
        {
            return;
        }
        nint page = NativeCode.Map(Code);
        if (page == 0)
        {
            return;
        }
        s_prefetch = (delegate* unmanaged[SuppressGCTransition]<void*, void*, void*, void*, void>)page;
        Enabled = true;
        s_source = "prefetchw";
    }

    /// <summary>"prefetchw" or "off (why)", for the machine line.</summary>
    public static string Describe() => s_source;

    /// <summary>Asks for the lines of <paramref name="a"/> to <paramref name="d"/> for writing (repeat an address to ask for fewer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines(void* a, void* b, void* c, void* d)
    {
        if (Enabled)
        {
            s_prefetch(a, b, c, d);
        }
    }
}
