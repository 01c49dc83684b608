// What an io_uring counted: system calls by reason, submissions, completions, retries.
namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// The counts of one ring. Plain fields: only the ring's single issuer writes them; exact once it
/// has stopped. Every io_uring_enter is counted once in <see cref="Enters"/> and once under the
/// reason it was made for, so a test can tell a system call the kernel asked for from one it did not.
/// </summary>
internal sealed class IoUringCounters
{
    /// <summary>io_uring_enter calls, all reasons.</summary>
    public long Enters;

    /// <summary>Enters that had SQEs to submit.</summary>
    public long SubmitEnters;

    /// <summary>Enters with nothing to submit, made because the kernel raised IORING_SQ_TASKRUN
    /// (completion work waiting for the poller).</summary>
    public long TaskRunEnters;

    /// <summary>Enters with nothing to submit, made because the kernel raised IORING_SQ_CQ_OVERFLOW.</summary>
    public long OverflowEnters;

    /// <summary>Enters made in the middle of a loop because GetSqe found the SQ full (each is an extra system call).</summary>
    public long FullQueueEnters;

    /// <summary>Enters the kernel turned away for now (EINTR, EAGAIN, EBUSY); their SQEs go with the next one.</summary>
    public long EnterRetries;

    /// <summary>SQEs the kernel consumed.</summary>
    public long SqesSubmitted;

    /// <summary>CQEs read from the CQ.</summary>
    public long CompletionsReaped;

    /// <summary>Times a CQ overflow was seen (IORING_SQ_CQ_OVERFLOW): completions waited in the kernel
    /// until flushed, in order and none lost (IORING_FEAT_NODROP).</summary>
    public long OverflowsSeen;
}
