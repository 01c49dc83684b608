// One io_uring: SQEs queued in shared memory and submitted with one io_uring_enter, completions read from the CQ's memory.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// An io_uring set up for a polling thread that is its only submitter (IORING_SETUP_SINGLE_ISSUER):
/// the SQ ring, the CQ ring (one mapping, IORING_FEAT_SINGLE_MMAP) and the SQE array mapped once,
/// the ring's fd in a <see cref="System.Runtime.InteropServices.SafeHandle"/>, and the provided-buffer rings registered on it, all
/// released by <see cref="Dispose"/>. Made by <see cref="TryCreate"/>.
/// </summary>
/// <remarks>
/// A poll loop: <see cref="Reap"/> the completions (memory reads, no system call), handle them,
/// <see cref="GetSqe"/> and fill the loop's sends and re-arms, <see cref="IoUringBufferRing.Publish"/>
/// the recycled buffers, then <see cref="Submit"/>: at most one io_uring_enter, and none at all when
/// nothing is queued and the kernel has raised neither IORING_SQ_TASKRUN nor IORING_SQ_CQ_OVERFLOW.
/// Every call is made on the single issuer's thread; nothing allocates after setup.
/// </remarks>
internal sealed unsafe partial class IoUringRing : IDisposable
{
    private readonly FileDescriptorHandle _handle;
    private readonly int _fd;
    private readonly void* _ringMemory;
    private readonly nuint _ringBytes;
    private readonly IoUringSqe* _sqes;
    private readonly nuint _sqesBytes;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqFlags;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint* _cqOverflow;
    private readonly IoUringCqe* _cqes;
    private readonly uint _cqMask;
    private readonly uint _cqEntries;
    private readonly bool _enterWithEvents;
    private readonly List<IoUringBufferRing> _bufferRings = new();
    private uint _sqLocalTail;
    private uint _cqLocalHead;
    private int _ownerThreadId;
    private bool _disposed;

    /// <summary>What the ring counted.</summary>
    public IoUringCounters Counters { get; } = new();

    /// <summary>How completion work reaches the poller (after any fallback at setup).</summary>
    public IoUringTaskRun TaskRun { get; }

    /// <summary>The setup flags the kernel accepted.</summary>
    public IoUringSetupFlags SetupFlags { get; }

    /// <summary>The features the kernel reported.</summary>
    public IoUringFeatures Features { get; }

    /// <summary>SQ entries (the kernel's count, a power of two).</summary>
    public int SubmissionEntries => (int)_sqEntries;

    /// <summary>CQ entries (the kernel's count, a power of two).</summary>
    public int CompletionEntries => (int)_cqEntries;

    /// <summary>What was set up, and any fallback taken, in one line for a log.</summary>
    public string Description { get; }

    /// <summary>True once a thread may submit: at once, unless created with <see cref="IoUringOptions.StartDisabled"/>.</summary>
    public bool IsEnabled => _ownerThreadId != 0;

    /// <summary>True on the ring's single issuer's thread (the only one that may submit, cancel and unregister).</summary>
    public bool IsIssuerThread => _ownerThreadId == Environment.CurrentManagedThreadId;

    /// <summary>SQEs handed out by <see cref="GetSqe"/> and not yet consumed by the kernel.</summary>
    // Volatile: a fresh read of the head the kernel moved in the last enter (see GetSqe); no ordering needed.
    public int PendingSubmissions => (int)(_sqLocalTail - Volatile.Read(ref *_sqHead));

    /// <summary>CQEs waiting in the CQ.</summary>
    // Acquire, as in Reap: a count that includes a CQE promises its contents.
    public int ReadyCompletions => (int)(Volatile.Read(ref *_cqTail) - _cqLocalHead);

    /// <summary>The kernel's SQ flags word (IORING_SQ_TASKRUN, IORING_SQ_CQ_OVERFLOW), as last written.</summary>
    // Volatile: a fresh read of a word other CPUs set; relaxed, as in Submit.
    public IoUringSqFlags KernelFlags => (IoUringSqFlags)Volatile.Read(ref *_sqFlags);

    /// <summary>Completions the kernel had to drop because it could not even queue them (the CQ ring's overflow counter); 0 with IORING_FEAT_NODROP unless it ran out of memory.</summary>
    // Volatile: a fresh read of a counter the kernel bumps; a count, so no ordering needed.
    public uint DroppedCompletions => Volatile.Read(ref *_cqOverflow);

    private IoUringRing(FileDescriptorHandle handle, in IoUringParams p, void* ringMemory, nuint ringBytes,
        IoUringSqe* sqes, nuint sqesBytes, IoUringTaskRun taskRun, bool enabled, string description)
    {
        _handle = handle;
        _fd = handle.Fd;
        _ringMemory = ringMemory;
        _ringBytes = ringBytes;
        _sqes = sqes;
        _sqesBytes = sqesBytes;
        byte* ring = (byte*)ringMemory;
        _sqHead = (uint*)(ring + p.SqOff.Head);
        _sqTail = (uint*)(ring + p.SqOff.Tail);
        _sqFlags = (uint*)(ring + p.SqOff.Flags);
        _sqMask = *(uint*)(ring + p.SqOff.RingMask);
        _sqEntries = *(uint*)(ring + p.SqOff.RingEntries);
        _cqHead = (uint*)(ring + p.CqOff.Head);
        _cqTail = (uint*)(ring + p.CqOff.Tail);
        _cqOverflow = (uint*)(ring + p.CqOff.Overflow);
        _cqes = (IoUringCqe*)(ring + p.CqOff.Cqes);
        _cqMask = *(uint*)(ring + p.CqOff.RingMask);
        _cqEntries = *(uint*)(ring + p.CqOff.RingEntries);
        // The SQ's index array maps ring slot i to SQE i once and for all, so only the tail moves.
        uint* array = (uint*)(ring + p.SqOff.Array);
        for (uint i = 0; i < _sqEntries; i++)
        {
            array[i] = i;
        }
        _sqLocalTail = *_sqTail;
        _cqLocalHead = *_cqHead;
        TaskRun = taskRun;
        SetupFlags = p.Flags;
        Features = p.Features;
        Description = description;
        // With DEFER_TASKRUN completion work runs only inside an enter with GETEVENTS, so every enter
        // asks for it: the one system call of a loop then submits and reaps the kernel's work alike.
        _enterWithEvents = taskRun == IoUringTaskRun.Deferred;
        if (enabled)
        {
            _ownerThreadId = Environment.CurrentManagedThreadId;
        }
    }

    /// <summary>
    /// Makes the calling thread the ring's single issuer (IORING_REGISTER_ENABLE_RINGS), for a ring
    /// created with <see cref="IoUringOptions.StartDisabled"/>. Call it on the thread that will poll.
    /// </summary>
    public void Enable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_ownerThreadId != 0)
        {
            throw new InvalidOperationException($"the ring is already enabled for thread {_ownerThreadId}");
        }
        if (NativeIoUring.Register(_fd, IoUringRegisterOp.EnableRings, null, 0) < 0)
        {
            throw new IoUringException(NativeIoUring.LastError(), "IORING_REGISTER_ENABLE_RINGS");
        }
        _ownerThreadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>
    /// The next SQE, zeroed, for a prep helper (<see cref="IoUringPrep"/>) to fill. It goes to the
    /// kernel at the next <see cref="Submit"/>. When the SQ is full, what is queued is submitted first
    /// (an extra io_uring_enter, counted in <see cref="IoUringCounters.FullQueueEnters"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref IoUringSqe GetSqe()
    {
        // The kernel moves the SQ head only inside io_uring_enter, on this thread (no SQPOLL), so
        // this read cannot race with a consumer; Volatile keeps the compiler from caching it.
        if (_sqLocalTail - Volatile.Read(ref *_sqHead) == _sqEntries)
        {
            SubmitBecauseFull();
        }
        ref IoUringSqe sqe = ref _sqes[_sqLocalTail & _sqMask];
        sqe = default;
        _sqLocalTail++;
        return ref sqe;
    }

    /// <summary>
    /// Submits every queued SQE and lets the kernel run waiting completion work, in one
    /// io_uring_enter; makes no system call when nothing is queued and the kernel has raised neither
    /// IORING_SQ_TASKRUN nor IORING_SQ_CQ_OVERFLOW (the idle poll). Returns the SQEs consumed; a
    /// transient refusal (EINTR, EAGAIN, EBUSY) returns 0 and leaves them for the next call.
    /// </summary>
    /// <exception cref="IoUringException">Called on a thread that is not the ring's single issuer, on a disabled ring, or the ring is broken.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Submit()
    {
        // As in GetSqe: the head moves only inside our own enter, so this is a fresh read, not a race.
        uint pending = _sqLocalTail - Volatile.Read(ref *_sqHead);
        // Relaxed suffices: the flag only decides whether to enter; the completions that entering
        // produces are read through the CQ tail's acquire in Reap.
        var sqFlags = (IoUringSqFlags)Volatile.Read(ref *_sqFlags);
        if (pending == 0 && (sqFlags & (IoUringSqFlags.TaskRun | IoUringSqFlags.CqOverflow)) == 0)
        {
            return 0;
        }
        return Enter(pending, sqFlags);
    }

    /// <summary>
    /// Copies up to <c>completions.Length</c> CQEs out of the CQ and frees their slots. Memory reads
    /// only, never a system call. Returns how many were copied.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Reap(Span<IoUringCqe> completions)
    {
        uint head = _cqLocalHead;
        // Acquire: pairs with the kernel's release store of the CQ tail, so every CQE before the tail
        // is fully written when it is copied below.
        uint tail = Volatile.Read(ref *_cqTail);
        uint n = Math.Min(tail - head, (uint)completions.Length);
        if (n == 0)
        {
            return 0;
        }
        for (uint i = 0; i < n; i++)
        {
            completions[(int)i] = _cqes[(head + i) & _cqMask];
        }
        _cqLocalHead = head + n;
        // Release: the copies above are complete before the kernel sees these slots free and refills them.
        Volatile.Write(ref *_cqHead, head + n);
        Counters.CompletionsReaped += n;
        return (int)n;
    }

    /// <summary>Takes one CQE, if any is waiting (see <see cref="Reap"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReap(out IoUringCqe completion)
    {
        uint head = _cqLocalHead;
        // Acquire: as in Reap.
        if (Volatile.Read(ref *_cqTail) == head)
        {
            completion = default;
            return false;
        }
        completion = _cqes[head & _cqMask];
        _cqLocalHead = head + 1;
        // Release: as in Reap.
        Volatile.Write(ref *_cqHead, head + 1);
        Counters.CompletionsReaped++;
        return true;
    }

    /// <summary>
    /// Registers a provided-buffer ring of <paramref name="count"/> buffers (a power of two up to
    /// 32768) of <paramref name="bufferBytes"/> each as buffer group <paramref name="group"/>, fills it
    /// and publishes it. The ring owns it: its memory is freed by <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A size is invalid.</exception>
    /// <exception cref="IoUringException">The kernel refused (the group is taken, memory is short).</exception>
    public IoUringBufferRing RegisterBufferRing(ushort group, int count, int bufferBytes) =>
        Register(group, count, bufferBytes, external: false);

    /// <summary>
    /// Registers an empty provided-buffer ring of <paramref name="count"/> ids for buffers of
    /// <paramref name="bufferBytes"/> that the caller owns: it gives each id its memory with
    /// <see cref="IoUringBufferRing.Provide"/>, then <see cref="IoUringBufferRing.Publish"/>. The ring's
    /// entries are freed by <see cref="Dispose"/>; the buffers stay the caller's, and must stay valid
    /// until the kernel has handed back every id it was given or the ring is disposed.
    /// </summary>
    /// <exception cref="ArgumentException">A size is invalid.</exception>
    /// <exception cref="IoUringException">The kernel refused.</exception>
    public IoUringBufferRing RegisterExternalBufferRing(ushort group, int count, int bufferBytes) =>
        Register(group, count, bufferBytes, external: true);

    private IoUringBufferRing Register(ushort group, int count, int bufferBytes, bool external)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count < 1 || count > 32768 || (count & (count - 1)) != 0)
        {
            throw new ArgumentException($"{count} buffers is invalid; valid: a power of two from 1 to 32768");
        }
        if (bufferBytes < 1)
        {
            throw new ArgumentException($"{bufferBytes}-byte buffers are invalid; valid: 1 byte or more");
        }
        var buffers = new IoUringBufferRing(group, count, bufferBytes, external);
        var reg = new IoUringBufReg { RingAddr = (ulong)buffers.RingAddress, RingEntries = (uint)count, Bgid = group };
        if (NativeIoUring.Register(_fd, IoUringRegisterOp.PbufRing, &reg, 1) < 0)
        {
            LinuxError error = NativeIoUring.LastError();
            buffers.FreeMemory();
            throw new IoUringException(error, $"IORING_REGISTER_PBUF_RING of buffer group {group}");
        }
        if (!external)
        {
            buffers.FillAndPublish();
        }
        _bufferRings.Add(buffers);
        return buffers;
    }

    /// <summary>
    /// A NIC's shutdown on the issuer's thread: cancels every request on the ring, submits and reaps
    /// (through <paramref name="reap"/>) until <paramref name="inKernel"/> says nothing is left or
    /// <paramref name="timeout"/> passes, then tears the ring down. True when nothing was left in the
    /// kernel, so the memory its requests pointed into may be freed.
    /// </summary>
    public bool CancelAllAndDispose(ulong cancelUserData, Func<bool> inKernel, Action reap, TimeSpan timeout)
    {
        IoUringPrep.CancelAny(ref GetSqe(), cancelUserData);
        var clock = Stopwatch.StartNew();
        while (inKernel() && clock.Elapsed < timeout)
        {
            Submit();
            reap();
            if (inKernel())
            {
                Thread.Yield();
            }
        }
        bool quiesced = !inKernel();
        Dispose();
        return quiesced;
    }

    /// <summary>
    /// Tears the ring down, in the one order that is safe: cancel everything in flight (when called
    /// on the single issuer's thread), unregister the buffer rings so the kernel holds no pointer into
    /// them, unmap the rings, close the ring's fd, then free the buffers. Call only after polling stopped.
    /// Descriptors the ring accepted belong to whoever took them from the CQEs.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_ownerThreadId == Environment.CurrentManagedThreadId)
        {
            CancelEverything();
        }
        foreach (IoUringBufferRing buffers in _bufferRings)
        {
            var reg = new IoUringBufReg { Bgid = buffers.Group };
            // A failure leaves the kernel's reference to be dropped with the ring when its fd closes below.
            _ = NativeIoUring.Register(_fd, IoUringRegisterOp.UnregisterPbufRing, &reg, 1);
        }
        _ = NativeIoUring.Munmap(_sqes, _sqesBytes);
        _ = NativeIoUring.Munmap(_ringMemory, _ringBytes);
        _handle.Dispose();
        foreach (IoUringBufferRing buffers in _bufferRings)
        {
            buffers.FreeMemory();
        }
        _bufferRings.Clear();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int Enter(uint pending, IoUringSqFlags sqFlags)
    {
        if (_ownerThreadId == 0)
        {
            throw new InvalidOperationException("the ring was created disabled: call Enable on the thread that will poll it");
        }
        AssertInvariants();
        if (pending != 0)
        {
            // Release: every SQE field written since the last submit is visible to the kernel before
            // the tail that hands those SQEs over.
            Volatile.Write(ref *_sqTail, _sqLocalTail);
        }
        bool kernelAsked = (sqFlags & (IoUringSqFlags.TaskRun | IoUringSqFlags.CqOverflow)) != 0;
        var flags = _enterWithEvents || kernelAsked ? IoUringEnterFlags.GetEvents : IoUringEnterFlags.None;
        int consumed = NativeIoUring.Enter(_fd, pending, 0, flags);
        Counters.Enters++;
        if (pending != 0)
        {
            Counters.SubmitEnters++;
        }
        else if ((sqFlags & IoUringSqFlags.CqOverflow) != 0)
        {
            Counters.OverflowEnters++;
        }
        else
        {
            Counters.TaskRunEnters++;
        }
        if ((sqFlags & IoUringSqFlags.CqOverflow) != 0)
        {
            Counters.OverflowsSeen++;
        }
        if (consumed >= 0)
        {
            Counters.SqesSubmitted += consumed;
            return consumed;
        }
        return EnterFailed(NativeIoUring.LastError());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int EnterFailed(LinuxError error)
    {
        switch (error)
        {
            case LinuxError.Interrupted or LinuxError.TryAgain or LinuxError.Busy:
                Counters.EnterRetries++;
                return 0;
            case LinuxError.Exists:
                throw new IoUringException(error, $"io_uring_enter on thread {Environment.CurrentManagedThreadId}, but thread {_ownerThreadId} is this ring's single issuer");
            case LinuxError.BadFdState:
                throw new IoUringException(error, "io_uring_enter on a disabled ring");
            default:
                throw new IoUringException(error, "io_uring_enter");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SubmitBecauseFull()
    {
        // Bounded: a kernel that keeps answering EAGAIN/EBUSY for this long is not coming back.
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            Counters.FullQueueEnters++;
            Submit();
            // As in GetSqe: a fresh read of the head our enter just moved.
            if (_sqLocalTail - Volatile.Read(ref *_sqHead) < _sqEntries)
            {
                return;
            }
            Thread.SpinWait(20);
        }
        throw new IoUringException(LinuxError.Busy, $"the SQ stayed full ({_sqEntries} entries) through 1000 io_uring_enter calls");
    }

    /// <summary>Cancels every request in flight and lets the cancellations run (teardown, on the issuer's thread).</summary>
    private void CancelEverything()
    {
        try
        {
            IoUringPrep.CancelAny(ref GetSqe(), IoUringUserData.Pack(IoUringUserData.RingKind, 0));
            // Release: the cancel SQE is visible to the kernel before the tail that hands it over.
            // GETEVENTS with min_complete 1 returns once the cancel's own completion is posted, after
            // the cancelled requests' work has run.
            Volatile.Write(ref *_sqTail, _sqLocalTail);
            // As in GetSqe: a fresh read of the head.
            _ = NativeIoUring.Enter(_fd, _sqLocalTail - Volatile.Read(ref *_sqHead), 1, IoUringEnterFlags.GetEvents);
            Counters.Enters++;
        }
        catch (IoUringException)
        {
            // Closing the fd cancels whatever this could not.
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_sqLocalTail - *_sqHead <= _sqEntries, "more SQEs queued than the SQ holds");
        Debug.Assert(*_cqTail - _cqLocalHead <= _cqEntries, "more CQEs than the CQ holds");
        // No assert that this is the single issuer's thread: a submit from another thread is refused by the kernel
        // (EEXIST) and reported as an IoUringException naming both threads, in every build (IoUringRingTests).
    }
}
