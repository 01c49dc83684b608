// The io_uring system calls (setup, enter, register through libc's syscall), mmap, and the kernel's structs and constants.
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic.IoUring;

// Every layout below is <linux/io_uring.h> (uapi, kernel 6.x) on a 64-bit little-endian Linux; the
// offsets are checked field by field in tests/NetStack.Tests/IoUring/IoUringLayoutTests.cs.
// msghdr, iovec and sockaddr_in are the socket surface's: see NativeUdp.cs (MsgHdr, IoVec, SockAddrIn).

/// <summary><c>struct io_uring_sqe</c>: one submission (64 bytes). The C struct is a run of unions;
/// the overlapping fields here are those unions, named as the header names them.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct IoUringSqe
{
    /// <summary>What to do (<c>opcode</c>).</summary>
    [FieldOffset(0)] public IoUringOp Opcode;
    /// <summary><c>IOSQE_*</c> flags.</summary>
    [FieldOffset(1)] public IoUringSqeFlags Flags;
    /// <summary><c>ioprio</c>; for send/recv and accept, the multishot and poll-first flags live here.</summary>
    [FieldOffset(2)] public ushort IoPrio;
    /// <summary>The file descriptor to operate on.</summary>
    [FieldOffset(4)] public int Fd;
    /// <summary><c>off</c>: file offset.</summary>
    [FieldOffset(8)] public ulong Off;
    /// <summary><c>addr2</c> (same slot as <see cref="Off"/>): accept's address-length pointer.</summary>
    [FieldOffset(8)] public ulong Addr2;
    /// <summary><c>addr</c>: buffer, iovec array, msghdr or sockaddr pointer; for cancel, the user_data to match.</summary>
    [FieldOffset(16)] public ulong Addr;
    /// <summary><c>len</c>: buffer length, iovec count, or 1 for a msghdr.</summary>
    [FieldOffset(24)] public uint Len;
    /// <summary><c>msg_flags</c> for send/recv (MSG_*).</summary>
    [FieldOffset(28)] public uint MsgFlags;
    /// <summary><c>accept_flags</c> (SOCK_NONBLOCK, SOCK_CLOEXEC), same slot as <see cref="MsgFlags"/>.</summary>
    [FieldOffset(28)] public uint AcceptFlags;
    /// <summary><c>cancel_flags</c> (<see cref="IoUringCancelFlags"/>), same slot as <see cref="MsgFlags"/>.</summary>
    [FieldOffset(28)] public uint CancelFlags;
    /// <summary><c>rw_flags</c> for readv/writev, same slot as <see cref="MsgFlags"/>.</summary>
    [FieldOffset(28)] public uint RwFlags;
    /// <summary>Handed back untouched in every completion of this submission.</summary>
    [FieldOffset(32)] public ulong UserData;
    /// <summary><c>buf_group</c>: the provided-buffer group to pick from (with <see cref="IoUringSqeFlags.BufferSelect"/>).</summary>
    [FieldOffset(40)] public ushort BufGroup;
    /// <summary><c>buf_index</c> (same slot as <see cref="BufGroup"/>): a registered buffer's index.</summary>
    [FieldOffset(40)] public ushort BufIndex;
    /// <summary><c>personality</c>.</summary>
    [FieldOffset(42)] public ushort Personality;
    /// <summary><c>file_index</c>: a fixed-file slot (accept direct), same slot as <c>splice_fd_in</c>.</summary>
    [FieldOffset(44)] public uint FileIndex;
    /// <summary><c>addr3</c>.</summary>
    [FieldOffset(48)] public ulong Addr3;
    /// <summary><c>__pad2[0]</c>.</summary>
    [FieldOffset(56)] public ulong Pad2;
}

/// <summary><c>struct io_uring_cqe</c>: one completion (16 bytes; the ring is not set up with CQE32).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringCqe
{
    /// <summary>The submission's user_data.</summary>
    public ulong UserData;
    /// <summary>Result: bytes, a new descriptor, 0, or a negated errno.</summary>
    public int Res;
    /// <summary><c>IORING_CQE_F_*</c>; the buffer id in the upper 16 bits when <see cref="IoUringCqeFlags.Buffer"/> is set.</summary>
    public IoUringCqeFlags Flags;

    /// <summary>The buffer id sits in the upper 16 bits of <see cref="Flags"/> (<c>IORING_CQE_BUFFER_SHIFT</c>).</summary>
    public const int BufferShift = 16;

    /// <summary>The submission stays armed and will complete again (<c>IORING_CQE_F_MORE</c>); without it a multishot has ended.</summary>
    public readonly bool HasMore => (Flags & IoUringCqeFlags.More) != 0;

    /// <summary>A provided buffer was consumed (<c>IORING_CQE_F_BUFFER</c>): <see cref="BufferId"/> names it.</summary>
    public readonly bool HasBuffer => (Flags & IoUringCqeFlags.Buffer) != 0;

    /// <summary>The provided buffer's id; meaningful only when <see cref="HasBuffer"/>.</summary>
    public readonly ushort BufferId => (ushort)((uint)Flags >> BufferShift);

    /// <summary>The failure, or <see cref="LinuxError.None"/> when <see cref="Res"/> is not negative.</summary>
    public readonly LinuxError Error => Res < 0 ? (LinuxError)(-Res) : LinuxError.None;
}

/// <summary><c>struct io_sqring_offsets</c>: where the SQ ring's fields sit in its mapping (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoSqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Flags;
    public uint Dropped;
    public uint Array;
    public uint Resv1;
    /// <summary><c>user_addr</c> (<c>resv2</c> in older headers).</summary>
    public ulong UserAddr;
}

/// <summary><c>struct io_cqring_offsets</c>: where the CQ ring's fields sit in its mapping (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoCqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Overflow;
    public uint Cqes;
    public uint Flags;
    public uint Resv1;
    /// <summary><c>user_addr</c> (<c>resv2</c> in older headers).</summary>
    public ulong UserAddr;
}

/// <summary><c>struct io_uring_params</c>: the setup request, filled in by the kernel with sizes,
/// features and offsets (120 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoUringParams
{
    public uint SqEntries;
    public uint CqEntries;
    public IoUringSetupFlags Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public IoUringFeatures Features;
    public uint WqFd;
    public fixed uint Resv[3];
    public IoSqRingOffsets SqOff;
    public IoCqRingOffsets CqOff;
}

/// <summary><c>struct io_uring_buf</c>: one entry of a provided-buffer ring (16 bytes). Entry 0's
/// <see cref="Resv"/> is the ring's tail (<c>struct io_uring_buf_ring</c> overlays it), so an entry is
/// written field by field and <see cref="Resv"/> never.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringBuf
{
    public ulong Addr;
    public uint Len;
    public ushort Bid;
    public ushort Resv;

    /// <summary>Offset of <c>io_uring_buf_ring.tail</c> from the ring's start: <c>bufs[0].resv</c>.</summary>
    public const int RingTailOffset = 14;
}

/// <summary><c>struct io_uring_buf_reg</c>: the argument of IORING_(UN)REGISTER_PBUF_RING (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoUringBufReg
{
    public ulong RingAddr;
    public uint RingEntries;
    public ushort Bgid;
    /// <summary><c>flags</c> (<c>pad</c> in older headers); 0: the ring is our memory, not the kernel's (IOU_PBUF_RING_MMAP).</summary>
    public ushort Flags;
    public fixed ulong Resv[3];
}

/// <summary><c>struct io_uring_recvmsg_out</c>: the header a multishot recvmsg writes at the start of
/// each provided buffer, followed by the name, the control data and the payload (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringRecvMsgOut
{
    /// <summary>The address's full length (may exceed the room the msghdr gave it).</summary>
    public uint NameLen;
    /// <summary>Control bytes the protocol had.</summary>
    public uint ControlLen;
    /// <summary>The datagram's full length (more than the buffer held when truncated).</summary>
    public uint PayloadLen;
    /// <summary>MSG_* flags (MSG_TRUNC).</summary>
    public int Flags;
}

/// <summary><c>struct io_uring_probe</c>'s header (16 bytes), followed by <see cref="IoUringProbeOp"/> entries.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoUringProbe
{
    public byte LastOp;
    public byte OpsLen;
    public ushort Resv;
    public fixed uint Resv2[3];
}

/// <summary><c>struct io_uring_probe_op</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringProbeOp
{
    public byte Op;
    public byte Resv;
    /// <summary><c>IO_URING_OP_SUPPORTED</c> (1) when the kernel has the opcode.</summary>
    public ushort Flags;
    public uint Resv2;
}

/// <summary><c>enum io_uring_op</c>: the opcodes NetStack uses.</summary>
internal enum IoUringOp : byte
{
    Nop = 0,
    Writev = 2,
    SendMsg = 9,
    RecvMsg = 10,
    Accept = 13,
    AsyncCancel = 14,
    Close = 19,
    Send = 26,
    Recv = 27,
}

/// <summary><c>IORING_SETUP_*</c>.</summary>
[Flags]
internal enum IoUringSetupFlags : uint
{
    None = 0,
    /// <summary>The CQ size is <see cref="IoUringParams.CqEntries"/>, not twice the SQ's (5.5).</summary>
    CqSize = 1u << 3,
    /// <summary>Created disabled; IORING_REGISTER_ENABLE_RINGS enables it and, with SingleIssuer, names the submitter (5.10).</summary>
    RDisabled = 1u << 6,
    /// <summary>Keep submitting the batch past an SQE that fails (5.18).</summary>
    SubmitAll = 1u << 7,
    /// <summary>Completion work is not forced on the task with an interrupt (5.19).</summary>
    CoopTaskRun = 1u << 8,
    /// <summary>The kernel sets IORING_SQ_TASKRUN when completion work waits for the task (5.19; needs CoopTaskRun or DeferTaskRun).</summary>
    TaskRunFlag = 1u << 9,
    /// <summary>One task submits (6.0).</summary>
    SingleIssuer = 1u << 12,
    /// <summary>Completion work waits until the submitter enters with GETEVENTS (6.1; needs SingleIssuer).</summary>
    DeferTaskRun = 1u << 13,
}

/// <summary><c>IORING_FEAT_*</c>, reported by the kernel at setup.</summary>
[Flags]
internal enum IoUringFeatures : uint
{
    None = 0,
    /// <summary>SQ and CQ rings share one mapping (5.4).</summary>
    SingleMmap = 1u << 0,
    /// <summary>Completions are never dropped when the CQ is full: the kernel keeps them and flags CQ overflow (5.5).</summary>
    NoDrop = 1u << 1,
    /// <summary>Submission data is consumed at submit time (5.5).</summary>
    SubmitStable = 1u << 2,
    /// <summary>Readiness-driven retries instead of worker threads for sockets (5.7).</summary>
    FastPoll = 1u << 5,
    /// <summary>io_uring_enter takes an extended argument (5.11).</summary>
    ExtArg = 1u << 8,
    /// <summary>IOSQE_CQE_SKIP_SUCCESS (5.17).</summary>
    CqeSkip = 1u << 11,
}

/// <summary><c>IOSQE_*</c>: per-submission flags.</summary>
[Flags]
internal enum IoUringSqeFlags : byte
{
    None = 0,
    FixedFile = 1 << 0,
    IoDrain = 1 << 1,
    IoLink = 1 << 2,
    IoHardLink = 1 << 3,
    Async = 1 << 4,
    /// <summary>Pick a buffer from group <see cref="IoUringSqe.BufGroup"/> when data arrives.</summary>
    BufferSelect = 1 << 5,
    CqeSkipSuccess = 1 << 6,
}

/// <summary><c>IORING_CQE_F_*</c>.</summary>
[Flags]
internal enum IoUringCqeFlags : uint
{
    None = 0,
    Buffer = 1u << 0,
    More = 1u << 1,
    SockNonEmpty = 1u << 2,
    Notif = 1u << 3,
}

/// <summary><c>IORING_SQ_*</c>: the SQ ring's flags word, written by the kernel.</summary>
[Flags]
internal enum IoUringSqFlags : uint
{
    None = 0,
    NeedWakeup = 1u << 0,
    /// <summary>Completions are waiting in the kernel because the CQ was full; an enter with GETEVENTS flushes them.</summary>
    CqOverflow = 1u << 1,
    /// <summary>Completion work waits for the task (with TaskRunFlag); an enter with GETEVENTS runs it.</summary>
    TaskRun = 1u << 2,
}

/// <summary><c>IORING_ENTER_*</c>.</summary>
[Flags]
internal enum IoUringEnterFlags : uint
{
    None = 0,
    GetEvents = 1u << 0,
}

/// <summary>The send/recv flags that live in <see cref="IoUringSqe.IoPrio"/> (<c>IORING_RECVSEND_*</c>, <c>IORING_RECV_MULTISHOT</c>) and accept's.</summary>
internal static class IoUringIoPrio
{
    /// <summary><c>IORING_RECVSEND_POLL_FIRST</c>: wait for readiness before the first attempt.</summary>
    public const ushort RecvSendPollFirst = 1 << 0;
    /// <summary><c>IORING_RECV_MULTISHOT</c>: one recv/recvmsg submission, a completion per arrival (6.0).</summary>
    public const ushort RecvMultishot = 1 << 1;
    /// <summary><c>IORING_ACCEPT_MULTISHOT</c>: one accept submission, a completion per connection (5.19).</summary>
    public const ushort AcceptMultishot = 1 << 0;
}

/// <summary><c>IORING_ASYNC_CANCEL_*</c>.</summary>
[Flags]
internal enum IoUringCancelFlags : uint
{
    /// <summary>Match by user_data (the default key).</summary>
    None = 0,
    /// <summary>Cancel every match, not only the first.</summary>
    All = 1u << 0,
    /// <summary>Match by descriptor instead of user_data.</summary>
    Fd = 1u << 1,
    /// <summary>Match every request.</summary>
    Any = 1u << 2,
}

/// <summary><c>io_uring_register</c> opcodes used here.</summary>
internal enum IoUringRegisterOp : uint
{
    Probe = 8,
    EnableRings = 12,
    PbufRing = 22,
    UnregisterPbufRing = 23,
}

/// <summary>The errno values the io_uring boundary turns into names; the value is the errno.</summary>
internal enum LinuxError
{
    None = 0,
    /// <summary>EPERM: io_uring disabled (kernel.io_uring_disabled, seccomp, a container policy).</summary>
    NotPermitted = 1,
    /// <summary>ENOENT: nothing matched (a cancel).</summary>
    NoEntry = 2,
    /// <summary>EINTR: a signal arrived first.</summary>
    Interrupted = 4,
    /// <summary>EBADF.</summary>
    BadDescriptor = 9,
    /// <summary>EAGAIN: try again.</summary>
    TryAgain = 11,
    /// <summary>ENOMEM.</summary>
    OutOfMemory = 12,
    /// <summary>EFAULT.</summary>
    Fault = 14,
    /// <summary>EBUSY: the kernel has completions to flush before it takes more submissions.</summary>
    Busy = 16,
    /// <summary>EEXIST: another thread is the ring's single issuer, or a buffer group is taken.</summary>
    Exists = 17,
    /// <summary>EINVAL: a flag or argument the kernel does not accept.</summary>
    InvalidArgument = 22,
    /// <summary>ENFILE.</summary>
    TooManyFilesInSystem = 23,
    /// <summary>EMFILE.</summary>
    TooManyFiles = 24,
    /// <summary>EPIPE.</summary>
    BrokenPipe = 32,
    /// <summary>ENOSYS: no io_uring in this kernel.</summary>
    NoSystemCall = 38,
    /// <summary>ETIME.</summary>
    Timer = 62,
    /// <summary>EBADFD: the ring is still disabled (R_DISABLED) or in a bad state.</summary>
    BadFdState = 77,
    /// <summary>EOPNOTSUPP.</summary>
    NotSupported = 95,
    /// <summary>ECONNRESET.</summary>
    ConnectionReset = 104,
    /// <summary>ENOBUFS: the provided-buffer ring is empty; a multishot receive ends with it.</summary>
    NoBuffers = 105,
    /// <summary>ENOTCONN.</summary>
    NotConnected = 107,
    /// <summary>EALREADY: a cancel found the request already running.</summary>
    Already = 114,
    /// <summary>ECANCELED: the request was cancelled.</summary>
    Canceled = 125,
}

/// <summary>A file descriptor the ring owns (its own fd, or one it accepted); closed once, on Dispose or finalization.</summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/>.</summary>
    public FileDescriptorHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    /// <inheritdoc />
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The descriptor's number (valid while the handle is open).</summary>
    public int Fd => (int)handle.ToInt64();

    /// <inheritdoc />
    protected override bool ReleaseHandle() => NativeIoUring.Close((int)handle.ToInt64()) == 0;
}

/// <summary>
/// The three io_uring system calls, reached through libc's <c>syscall</c> (glibc has no wrappers;
/// the numbers 425-427 are the same on every 64-bit Linux architecture), and the memory-mapping
/// calls. glibc's <c>syscall</c> is an assembly stub that moves its integer arguments into the
/// kernel's registers, so calling it with a fixed list of seven pointer-sized arguments is sound.
/// </summary>
internal static unsafe partial class NativeIoUring
{
    private const nint SysIoUringSetup = 425;
    private const nint SysIoUringEnter = 426;
    private const nint SysIoUringRegister = 427;

    /// <summary>mmap offset of the SQ ring (and, with SINGLE_MMAP, the CQ ring): <c>IORING_OFF_SQ_RING</c>.</summary>
    public const long OffSqRing = 0;
    /// <summary>mmap offset of the SQE array: <c>IORING_OFF_SQES</c>.</summary>
    public const long OffSqes = 0x10000000;

    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapShared = 0x01;
    /// <summary>Fault the pages in at once, so the first poll does not take page faults.</summary>
    public const int MapPopulate = 0x8000;
    /// <summary>mmap's failure value, <c>MAP_FAILED</c>.</summary>
    public static readonly void* MapFailed = (void*)-1;

    /// <summary>accept4's SOCK_NONBLOCK.</summary>
    public const uint SockNonBlock = 0x800;
    /// <summary>accept4's SOCK_CLOEXEC.</summary>
    public const uint SockCloExec = 0x80000;
    /// <summary>MSG_TRUNC, in <see cref="IoUringRecvMsgOut.Flags"/>.</summary>
    public const int MsgTrunc = 0x20;
    /// <summary><c>IO_URING_OP_SUPPORTED</c> in <see cref="IoUringProbeOp.Flags"/>.</summary>
    public const ushort OpSupported = 1;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall(nint number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    /// <summary><c>io_uring_setup(entries, params)</c>: the ring's fd, or -1 with errno.</summary>
    public static int Setup(uint entries, IoUringParams* p) =>
        (int)Syscall(SysIoUringSetup, (nint)entries, (nint)p, 0, 0, 0, 0);

    /// <summary><c>io_uring_enter(fd, to_submit, min_complete, flags, NULL, 0)</c>: SQEs consumed, or -1 with errno.</summary>
    public static int Enter(int fd, uint toSubmit, uint minComplete, IoUringEnterFlags flags) =>
        (int)Syscall(SysIoUringEnter, fd, (nint)toSubmit, (nint)minComplete, (nint)(uint)flags, 0, 0);

    /// <summary><c>io_uring_register(fd, opcode, arg, nr_args)</c>: 0 (or a count), or -1 with errno.</summary>
    public static int Register(int fd, IoUringRegisterOp opcode, void* arg, uint nrArgs) =>
        (int)Syscall(SysIoUringRegister, fd, (nint)(uint)opcode, (nint)arg, (nint)nrArgs, 0, 0);

    /// <summary>The errno of the last call above, named.</summary>
    public static LinuxError LastError() => (LinuxError)Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(void* addr, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
