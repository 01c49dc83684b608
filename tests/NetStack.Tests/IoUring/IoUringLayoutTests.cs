// The io_uring structs match <linux/io_uring.h> byte for byte: sizes and every field's offset.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.IOKernel.Nic.IoUring;
using Xunit;

namespace NetStack.Tests.IoUring;

/// <summary>
/// The expected numbers are offsetof/sizeof from the uapi header <c>linux/io_uring.h</c> on x86-64
/// (identical on every 64-bit Linux): hard-coded here, so the tests need neither a C compiler nor the
/// header. Field names in the comments are the header's.
/// </summary>
public class IoUringLayoutTests
{
    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void SqeIs64BytesWithTheHeadersUnionsAtTheirOffsets()
    {
        Assert.Equal(64, Unsafe.SizeOf<IoUringSqe>());
        Assert.Equal(64, Marshal.SizeOf<IoUringSqe>());
        Assert.Equal(0, Offset<IoUringSqe>(nameof(IoUringSqe.Opcode)));        // opcode
        Assert.Equal(1, Offset<IoUringSqe>(nameof(IoUringSqe.Flags)));         // flags
        Assert.Equal(2, Offset<IoUringSqe>(nameof(IoUringSqe.IoPrio)));        // ioprio
        Assert.Equal(4, Offset<IoUringSqe>(nameof(IoUringSqe.Fd)));            // fd
        Assert.Equal(8, Offset<IoUringSqe>(nameof(IoUringSqe.Off)));           // off
        Assert.Equal(8, Offset<IoUringSqe>(nameof(IoUringSqe.Addr2)));         // addr2
        Assert.Equal(16, Offset<IoUringSqe>(nameof(IoUringSqe.Addr)));         // addr
        Assert.Equal(24, Offset<IoUringSqe>(nameof(IoUringSqe.Len)));          // len
        Assert.Equal(28, Offset<IoUringSqe>(nameof(IoUringSqe.MsgFlags)));     // msg_flags
        Assert.Equal(28, Offset<IoUringSqe>(nameof(IoUringSqe.AcceptFlags)));  // accept_flags
        Assert.Equal(28, Offset<IoUringSqe>(nameof(IoUringSqe.CancelFlags)));  // cancel_flags
        Assert.Equal(28, Offset<IoUringSqe>(nameof(IoUringSqe.RwFlags)));      // rw_flags
        Assert.Equal(32, Offset<IoUringSqe>(nameof(IoUringSqe.UserData)));     // user_data
        Assert.Equal(40, Offset<IoUringSqe>(nameof(IoUringSqe.BufGroup)));     // buf_group
        Assert.Equal(40, Offset<IoUringSqe>(nameof(IoUringSqe.BufIndex)));     // buf_index
        Assert.Equal(42, Offset<IoUringSqe>(nameof(IoUringSqe.Personality)));  // personality
        Assert.Equal(44, Offset<IoUringSqe>(nameof(IoUringSqe.FileIndex)));    // file_index
        Assert.Equal(48, Offset<IoUringSqe>(nameof(IoUringSqe.Addr3)));        // addr3
        Assert.Equal(56, Offset<IoUringSqe>(nameof(IoUringSqe.Pad2)));         // __pad2[0]
    }

    [Fact]
    public void CqeIs16Bytes()
    {
        Assert.Equal(16, Unsafe.SizeOf<IoUringCqe>());
        Assert.Equal(0, Offset<IoUringCqe>(nameof(IoUringCqe.UserData)));      // user_data
        Assert.Equal(8, Offset<IoUringCqe>(nameof(IoUringCqe.Res)));           // res
        Assert.Equal(12, Offset<IoUringCqe>(nameof(IoUringCqe.Flags)));        // flags
    }

    [Fact]
    public void RingOffsetStructsAre40Bytes()
    {
        Assert.Equal(40, Unsafe.SizeOf<IoSqRingOffsets>());
        string[] sq = [nameof(IoSqRingOffsets.Head), nameof(IoSqRingOffsets.Tail), nameof(IoSqRingOffsets.RingMask),
            nameof(IoSqRingOffsets.RingEntries), nameof(IoSqRingOffsets.Flags), nameof(IoSqRingOffsets.Dropped),
            nameof(IoSqRingOffsets.Array), nameof(IoSqRingOffsets.Resv1), nameof(IoSqRingOffsets.UserAddr)];
        for (int i = 0; i < sq.Length; i++)
        {
            Assert.Equal(i * 4, Offset<IoSqRingOffsets>(sq[i]));               // head, tail, ..., resv1 4 apart; user_addr (resv2) at 32
        }
        Assert.Equal(40, Unsafe.SizeOf<IoCqRingOffsets>());
        string[] cq = [nameof(IoCqRingOffsets.Head), nameof(IoCqRingOffsets.Tail), nameof(IoCqRingOffsets.RingMask),
            nameof(IoCqRingOffsets.RingEntries), nameof(IoCqRingOffsets.Overflow), nameof(IoCqRingOffsets.Cqes),
            nameof(IoCqRingOffsets.Flags), nameof(IoCqRingOffsets.Resv1), nameof(IoCqRingOffsets.UserAddr)];
        for (int i = 0; i < cq.Length; i++)
        {
            Assert.Equal(i * 4, Offset<IoCqRingOffsets>(cq[i]));               // head, tail, ..., overflow, cqes, flags, resv1; user_addr at 32
        }
    }

    [Fact]
    public void ParamsAre120BytesWithTheOffsetsAt40And80()
    {
        Assert.Equal(120, Unsafe.SizeOf<IoUringParams>());
        Assert.Equal(0, Offset<IoUringParams>(nameof(IoUringParams.SqEntries)));     // sq_entries
        Assert.Equal(4, Offset<IoUringParams>(nameof(IoUringParams.CqEntries)));     // cq_entries
        Assert.Equal(8, Offset<IoUringParams>(nameof(IoUringParams.Flags)));         // flags
        Assert.Equal(12, Offset<IoUringParams>(nameof(IoUringParams.SqThreadCpu)));  // sq_thread_cpu
        Assert.Equal(16, Offset<IoUringParams>(nameof(IoUringParams.SqThreadIdle))); // sq_thread_idle
        Assert.Equal(20, Offset<IoUringParams>(nameof(IoUringParams.Features)));     // features
        Assert.Equal(24, Offset<IoUringParams>(nameof(IoUringParams.WqFd)));         // wq_fd
        Assert.Equal(28, Offset<IoUringParams>(nameof(IoUringParams.Resv)));         // resv[3]
        Assert.Equal(40, Offset<IoUringParams>(nameof(IoUringParams.SqOff)));        // sq_off
        Assert.Equal(80, Offset<IoUringParams>(nameof(IoUringParams.CqOff)));        // cq_off
    }

    [Fact]
    public void ProvidedBufferStructsMatchAndTheRingTailOverlaysTheFirstEntrysResv()
    {
        Assert.Equal(16, Unsafe.SizeOf<IoUringBuf>());
        Assert.Equal(0, Offset<IoUringBuf>(nameof(IoUringBuf.Addr)));                // addr
        Assert.Equal(8, Offset<IoUringBuf>(nameof(IoUringBuf.Len)));                 // len
        Assert.Equal(12, Offset<IoUringBuf>(nameof(IoUringBuf.Bid)));                // bid
        Assert.Equal(14, Offset<IoUringBuf>(nameof(IoUringBuf.Resv)));               // resv
        Assert.Equal(14, IoUringBuf.RingTailOffset);                                 // io_uring_buf_ring.tail
        Assert.Equal(40, Unsafe.SizeOf<IoUringBufReg>());
        Assert.Equal(0, Offset<IoUringBufReg>(nameof(IoUringBufReg.RingAddr)));      // ring_addr
        Assert.Equal(8, Offset<IoUringBufReg>(nameof(IoUringBufReg.RingEntries)));   // ring_entries
        Assert.Equal(12, Offset<IoUringBufReg>(nameof(IoUringBufReg.Bgid)));         // bgid
        Assert.Equal(14, Offset<IoUringBufReg>(nameof(IoUringBufReg.Flags)));        // flags (pad)
        Assert.Equal(16, Offset<IoUringBufReg>(nameof(IoUringBufReg.Resv)));         // resv[3]
    }

    [Fact]
    public void RecvMsgOutAndProbeMatch()
    {
        Assert.Equal(16, Unsafe.SizeOf<IoUringRecvMsgOut>());
        Assert.Equal(0, Offset<IoUringRecvMsgOut>(nameof(IoUringRecvMsgOut.NameLen)));     // namelen
        Assert.Equal(4, Offset<IoUringRecvMsgOut>(nameof(IoUringRecvMsgOut.ControlLen)));  // controllen
        Assert.Equal(8, Offset<IoUringRecvMsgOut>(nameof(IoUringRecvMsgOut.PayloadLen)));  // payloadlen
        Assert.Equal(12, Offset<IoUringRecvMsgOut>(nameof(IoUringRecvMsgOut.Flags)));      // flags
        Assert.Equal(16, Unsafe.SizeOf<IoUringProbe>());                                   // ops[] starts at 16
        Assert.Equal(8, Unsafe.SizeOf<IoUringProbeOp>());
        Assert.Equal(2, Offset<IoUringProbeOp>(nameof(IoUringProbeOp.Flags)));             // flags
    }

    [Fact]
    public void OpcodesAndRegisterCodesAreTheHeadersNumbers()
    {
        // enum io_uring_op
        Assert.Equal(0, (int)IoUringOp.Nop);
        Assert.Equal(2, (int)IoUringOp.Writev);
        Assert.Equal(9, (int)IoUringOp.SendMsg);
        Assert.Equal(10, (int)IoUringOp.RecvMsg);
        Assert.Equal(13, (int)IoUringOp.Accept);
        Assert.Equal(14, (int)IoUringOp.AsyncCancel);
        Assert.Equal(19, (int)IoUringOp.Close);
        Assert.Equal(26, (int)IoUringOp.Send);
        Assert.Equal(27, (int)IoUringOp.Recv);
        // io_uring_register opcodes
        Assert.Equal(8, (int)IoUringRegisterOp.Probe);
        Assert.Equal(12, (int)IoUringRegisterOp.EnableRings);
        Assert.Equal(22, (int)IoUringRegisterOp.PbufRing);
        Assert.Equal(23, (int)IoUringRegisterOp.UnregisterPbufRing);
    }

    [Fact]
    public void UserDataPacksKindTagAndIndexApart()
    {
        ulong ud = IoUringUserData.Pack(kind: 0xAB, index: 0xDEADBEEF, tag: 0x123456);
        Assert.Equal(0xAB, IoUringUserData.Kind(ud));
        Assert.Equal(0x123456u, IoUringUserData.Tag(ud));
        Assert.Equal(0xDEADBEEFu, IoUringUserData.Index(ud));
        // A tag wider than 24 bits is cut, never spilling into the kind.
        Assert.Equal(0x01, IoUringUserData.Kind(IoUringUserData.Pack(1, 0, uint.MaxValue)));
    }
}
