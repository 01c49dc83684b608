// A few bytes of machine code in a page of their own, for the instructions .NET has no intrinsic for.
using System.Runtime.InteropServices;

namespace NetStack.Runtime;

/// <summary>Maps machine code into an executable page of its own (x64 Linux), to be called as an
/// unmanaged function pointer without a GC transition: the TSC clock's read, the write prefetch.</summary>
internal static unsafe partial class NativeCode
{
    /// <summary>The address of <paramref name="code"/> in a fresh read-and-execute page, or 0 if it could not be mapped.</summary>
    public static nint Map(ReadOnlySpan<byte> code)
    {
        const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;
        if (!OperatingSystem.IsLinux() || code.Length > 4096)
        {
            return 0;
        }
        nint page = Mmap(0, 4096, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == -1 || page == 0)
        {
            return 0;
        }
        code.CopyTo(new Span<byte>((void*)page, code.Length));
        if (Mprotect(page, 4096, ProtRead | ProtExec) != 0)
        {
            return 0;
        }
        return page;
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(nint address, nuint length, int protection);
}
