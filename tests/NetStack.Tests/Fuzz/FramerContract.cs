// The framer contract of AppProtocol as checkable rules, and a model of the TCP NIC's framing loop that feeds a stream in reads cut anywhere.
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.Tests.Fuzz;

/// <summary>A rule of the framer contract was broken; the message says which and on what.</summary>
internal sealed class ContractException(string message) : Exception(message);

/// <summary>
/// What src/Runtime/Protocol/AppProtocol.cs promises the transports, and what src/IOKernel/Nic/TcpNic.cs
/// relies on: a framer never throws; a request or an invalid frame is at least one byte and no more
/// than it was shown, nor more than <see cref="AppProtocol.MaxRequestBytes"/>; an incomplete answer's
/// hint is 0 or more than it was shown; a datagram is never incomplete; reasons index the error names;
/// a failure reply fits its 64 bytes.
/// </summary>
internal static class FramerContract
{
    /// <summary>Framing calls one stream may take: every call but the last of a read consumes a byte or more.</summary>
    private const int StepsPerByte = 4;

    public static void CheckStream(AppProtocol protocol, ReadOnlySpan<byte> buffered, FrameStatus status, in Frame frame)
    {
        switch (status)
        {
            case FrameStatus.Request:
                Require(frame.Length > 0 && frame.Length <= buffered.Length, status, frame, buffered.Length, "length outside 1..bytes shown");
                Require(frame.Length <= protocol.MaxRequestBytes, status, frame, buffered.Length, "a request longer than MaxRequestBytes");
                Require(frame.BodyOffset >= 0 && frame.BodyOffset <= frame.Length, status, frame, buffered.Length, "body offset outside the request");
                Require(frame.Type >= 0 && frame.Type < protocol.TypeCount, status, frame, buffered.Length, "type outside 0..TypeCount-1");
                Require(frame.SkipAfter >= 0, status, frame, buffered.Length, "negative skip");
                break;
            case FrameStatus.Invalid:
                Require(frame.Length > 0 && frame.Length <= buffered.Length, status, frame, buffered.Length, "length outside 1..bytes shown");
                Require(frame.Length <= protocol.MaxRequestBytes, status, frame, buffered.Length, "an invalid frame longer than MaxRequestBytes");
                Require(frame.SkipAfter >= 0, status, frame, buffered.Length, "negative skip");
                RequireReason(protocol, status, frame, buffered.Length);
                break;
            case FrameStatus.Incomplete:
                Require(frame.Length == 0 || frame.Length > buffered.Length, status, frame, buffered.Length,
                    "an incomplete hint no longer than the bytes already shown");
                break;
            case FrameStatus.Drop:
                RequireReason(protocol, status, frame, buffered.Length);
                break;
            default:
                throw new ContractException($"status {(int)status} is not a FrameStatus");
        }
    }

    public static void CheckDatagram(AppProtocol protocol, ReadOnlySpan<byte> datagram, FrameStatus status, in Frame frame)
    {
        switch (status)
        {
            case FrameStatus.Request:
                Require(frame.BodyOffset >= 0 && frame.BodyOffset <= datagram.Length, status, frame, datagram.Length, "body offset outside the datagram");
                Require(frame.Type >= 0 && frame.Type < protocol.TypeCount, status, frame, datagram.Length, "type outside 0..TypeCount-1");
                break;
            case FrameStatus.Invalid:
            case FrameStatus.Drop:
                RequireReason(protocol, status, frame, datagram.Length);
                break;
            default:
                throw new ContractException($"a datagram framed as {status}");
        }
    }

    /// <summary>Every failure reply the transports may ask for (any status, the frame's type, id and tag) fits <see cref="AppProtocol.MaxFailureReplyBytes"/>.</summary>
    public static void CheckFailureReplies(AppProtocol protocol, in Frame frame)
    {
        Span<byte> reply = stackalloc byte[AppProtocol.MaxFailureReplyBytes];
        foreach (RequestStatus s in new[] { RequestStatus.RejectedOverload, RequestStatus.BadRequest, RequestStatus.Error, RequestStatus.ShuttingDown })
        {
            var info = new ReplyInfo { Status = s, Type = frame.Type, Id = frame.Id, Tag = frame.Tag };
            int n = protocol.WriteFailure(reply, info);
            if (n < 0 || n > AppProtocol.MaxFailureReplyBytes)
            {
                throw new ContractException($"WriteFailure wrote {n} bytes for {s}");
            }
        }
    }

    /// <summary>
    /// Frames <paramref name="stream"/> as the TCP NIC does (src/IOKernel/Nic/TcpNic.cs, ServeReads): the
    /// bytes arrive in reads ending at <paramref name="cuts"/> (sorted) and then at the stream's end,
    /// after which the peer closes. Each read frames every whole request from the current position; a
    /// frame's skip discards the bytes after it as they arrive; an invalid frame is stepped over; a
    /// drop, or an incomplete request past <see cref="AppProtocol.MaxRequestBytes"/>, closes the
    /// connection. Every call is checked against the contract. Returns what happened, one line per
    /// request, invalid frame and ending, which must not depend on where the reads were cut.
    /// </summary>
    public static List<string> FrameStream(AppProtocol protocol, byte[] stream, int[] cuts, List<(FrameStatus Status, int Start, Frame Frame)>? frames = null)
    {
        var events = new List<string>();
        ulong state = 0;
        int start = 0;
        long skip = 0;
        long steps = 0;
        long budget = (long)(stream.Length + 1) * StepsPerByte + cuts.Length + 16;
        int read = 0;
        foreach (int end in cuts.Append(stream.Length))
        {
            if (end < read)
            {
                throw new ArgumentException("cuts must be sorted");
            }
            read = end;
            while (start < read)
            {
                if (++steps > budget)
                {
                    throw new ContractException($"framing did not advance: {steps} calls for {stream.Length} bytes (a loop)");
                }
                if (skip > 0)
                {
                    int discard = (int)Math.Min(skip, read - start);
                    skip -= discard;
                    start += discard;
                    continue;
                }
                ReadOnlySpan<byte> buffered = stream.AsSpan(start, read - start);
                FrameStatus status = protocol.FrameStream(buffered, ref state, out Frame frame);
                CheckStream(protocol, buffered, status, frame);
                switch (status)
                {
                    case FrameStatus.Request:
                    case FrameStatus.Invalid:
                        CheckFailureReplies(protocol, frame);
                        frames?.Add((status, start, frame));
                        events.Add($"{status} at {start}: length {frame.Length} body {frame.BodyOffset} type {frame.Type} id {frame.Id} " +
                            $"tag {frame.Tag:x} service {frame.ServiceNs} skip {frame.SkipAfter} error {frame.Error}");
                        start += frame.Length;
                        skip = frame.SkipAfter;
                        continue;
                    case FrameStatus.Drop:
                        events.Add($"Drop at {start}: error {frame.Error}");
                        return events;
                }
                if (frame.Length > protocol.MaxRequestBytes || read - start >= protocol.MaxRequestBytes)
                {
                    events.Add($"closed at {start}: a request past MaxRequestBytes");
                    return events;
                }
                break; // incomplete: wait for the next read
            }
        }
        events.Add(start < stream.Length && skip == 0 ? $"closed mid-request at {start}" : "end");
        return events;
    }

    /// <summary>Every frame of <paramref name="stream"/> delivered one byte per read (the worst split).</summary>
    public static List<string> FrameByteByByte(AppProtocol protocol, byte[] stream) =>
        FrameStream(protocol, stream, Enumerable.Range(1, Math.Max(0, stream.Length - 1)).ToArray());

    private static void RequireReason(AppProtocol protocol, FrameStatus status, in Frame frame, int shown) =>
        Require(frame.Error > 0 && frame.Error < protocol.ErrorNames.Count, status, frame, shown, "reason outside 1..ErrorNames.Count-1");

    private static void Require(bool condition, FrameStatus status, in Frame frame, int shown, string rule)
    {
        if (!condition)
        {
            throw new ContractException($"{rule}: {status} with length {frame.Length}, body {frame.BodyOffset}, type {frame.Type}, " +
                $"skip {frame.SkipAfter}, error {frame.Error}, on {shown} bytes shown");
        }
    }
}
