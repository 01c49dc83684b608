// Loads the key space into a target before its first point: a SET of every key, pipelined over TCP connections, closed loop.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetStack.LoadGen.Kv.Protocol;

namespace NetStack.LoadGen.Kv;

/// <summary>What loading stored.</summary>
/// <param name="Keys">Keys stored.</param>
/// <param name="Bytes">Their key and value bytes.</param>
/// <param name="Seconds">How long it took.</param>
/// <param name="Errors">SETs answered with an error (not stored).</param>
internal sealed record KvLoadResult(long Keys, long Bytes, double Seconds, long Errors);

/// <summary>
/// Stores keys 0..Count-1, each with its own value size (<see cref="KeySpace.LoadedValueBytes"/>), so
/// the measured gets find them: key k goes on connection k mod N, each connection with at most
/// <see cref="Window"/> SETs outstanding. Not timed and not open loop: it only has to finish.
/// </summary>
internal static class KvLoader
{
    /// <summary>SETs a connection may have outstanding while loading.</summary>
    public const int Window = 32;

    /// <summary>Loads <paramref name="keys"/> into the server at <paramref name="endPoint"/>.</summary>
    /// <exception cref="InvalidOperationException">The server answered a SET with something that is not a storage reply,
    /// closed a connection, or did not finish within <paramref name="timeout"/>.</exception>
    public static KvLoadResult Load(IPEndPoint endPoint, KvProtocolKind protocol, KeySpace keys, int connections, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        int maxValue = keys.Workload.Values.MaxBytes;
        ValuePattern.Reserve(maxValue);
        var frame = new byte[KvClientProtocol.MaxRequestBytes(keys.MaxKeyBytes, maxValue, 1)];
        int bufferBytes = Math.Max(64 << 10, KvClientProtocol.MaxReplyUnitBytes(maxValue) + 1024);
        connections = Math.Max(1, Math.Min(connections, keys.Count));
        var conns = new KvConnection[connections];
        var nextKey = new int[connections];
        var outstanding = new int[connections];
        long answered = 0, errors = 0, bytes = 0;
        try
        {
            for (int c = 0; c < connections; c++)
            {
                conns[c] = new KvConnection(c, KvConnection.Connect(endPoint), bufferBytes);
                nextKey[c] = c;
            }
            while (answered < keys.Count)
            {
                if (clock.Elapsed > timeout)
                {
                    int stuck = Array.FindIndex(outstanding, o => o > 0);
                    throw new InvalidOperationException($"loading {keys.Count} keys into {endPoint} did not finish within {timeout.TotalSeconds:0} s: " +
                        $"{answered} answered; connection {stuck} waits for the reply to key {(stuck < 0 ? -1 : conns[stuck].NextExpected)} " +
                        $"with {(stuck < 0 ? 0 : conns[stuck].End - conns[stuck].Start)} reply bytes unread");
                }
                bool progress = false;
                for (int c = 0; c < connections; c++)
                {
                    KvConnection conn = conns[c];
                    while (outstanding[c] < Window && nextKey[c] < keys.Count)
                    {
                        int k = nextKey[c];
                        int valueBytes = keys.LoadedValueBytes(k);
                        int length = KvClientProtocol.Encode(protocol, frame, keys, KvOp.Set, new ReadOnlySpan<int>(in k), valueBytes, (uint)k);
                        if (!TrySend(conn, frame.AsSpan(0, length)))
                        {
                            break;
                        }
                        bytes += keys.LengthOf(k) + valueBytes;
                        nextKey[c] = k + connections;
                        outstanding[c]++;
                        progress = true;
                    }
                    int done = ReadReplies(conn, protocol, keys, connections, maxValue, ref errors, endPoint);
                    outstanding[c] -= done;
                    answered += done;
                    progress |= done > 0;
                }
                if (!progress)
                {
                    Thread.Yield();
                }
            }
            return new KvLoadResult(keys.Count, bytes, clock.Elapsed.TotalSeconds, errors);
        }
        finally
        {
            foreach (KvConnection? c in conns)
            {
                c?.Socket.Dispose();
            }
        }
    }

    /// <summary>Sends the whole request; false (nothing sent) when the socket's buffer is full, so replies get read first.</summary>
    private static bool TrySend(KvConnection c, ReadOnlySpan<byte> frame)
    {
        bool first = true;
        while (!frame.IsEmpty)
        {
            int n = c.Socket.Send(frame, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                if (first)
                {
                    return false;
                }
                // Part of it went: the rest must follow before anything else on this connection.
                Thread.Yield();
                continue;
            }
            if (error != SocketError.Success)
            {
                throw new InvalidOperationException($"loading: sending to the server failed: {error}");
            }
            first = false;
            frame = frame[n..];
        }
        return true;
    }

    /// <summary>Reads and checks every whole SET reply buffered on <paramref name="c"/>; returns how many.</summary>
    private static int ReadReplies(KvConnection c, KvProtocolKind protocol, KeySpace keys, int connections, int maxValue, ref long errors,
        IPEndPoint endPoint)
    {
        if (c.End == c.Buffer.Length)
        {
            c.Compact();
        }
        int n = c.Socket.Receive(c.Buffer.AsSpan(c.End), SocketFlags.None, out SocketError error);
        if (error == SocketError.WouldBlock)
        {
            return 0;
        }
        if (error != SocketError.Success || n == 0)
        {
            throw new InvalidOperationException($"loading: {endPoint} closed a connection ({error})");
        }
        c.End += n;
        int done = 0;
        while (c.Start < c.End)
        {
            int k = c.NextExpected;
            var expected = new ExpectedReply(KvOp.Set, (uint)k, new ReadOnlySpan<int>(in k), keys);
            ReplyStep step = KvClientProtocol.Read(protocol, c.Buffer.AsSpan(c.Start, c.End - c.Start), expected, ref c.Progress, maxValue,
                out int consumed);
            c.Start += consumed;
            if (step == ReplyStep.NeedMore)
            {
                break;
            }
            if (step == ReplyStep.Malformed)
            {
                throw new InvalidOperationException($"loading: {endPoint} answered the SET of key {k} with something that is not a storage reply");
            }
            if (c.Progress.Failed || c.Progress.Rejected)
            {
                errors++;
            }
            c.Progress = default;
            c.NextExpected = k + connections;
            done++;
        }
        if (c.Start == c.End)
        {
            c.Start = c.End = 0;
        }
        return done;
    }
}
