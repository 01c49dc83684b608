// The kv engine: executes one framed memcached request against the store, in bounded steps, writing its reply.
using System.Buffers;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;
using NetStack.Runtime.Protocol;

namespace NetStack.Apps.Kv;

/// <summary>What one <see cref="KvEngine.Execute"/> step ended with.</summary>
internal enum KvStatus
{
    /// <summary>The request is answered.</summary>
    Done,
    /// <summary>More to do: reach a checkpoint, then call again with the same request and cursor.</summary>
    Continue,
    /// <summary>The request is answered and the connection must close after its reply (quit, a
    /// binary protocol error, an HTTP request line).</summary>
    Close,
}

/// <summary>
/// Where a request's execution stands between steps. Start each request with <c>default</c>; keep
/// it with the request (a local of the handler) across checkpoints. It holds positions only, never a
/// lock or an item reference.
/// </summary>
internal struct KvCursor
{
    /// <summary>Start of the current command within the request (a datagram may carry several).</summary>
    internal int Offset;
    /// <summary>The current command's bytes, and what is skipped after it within the request.</summary>
    internal int CommandLength;
    internal int SkipAfter;
    /// <summary>0 between commands; a command that takes several steps keeps its progress here.</summary>
    internal int Phase;
    /// <summary>A multiget's next key (or next key to check), as a position in its line.</summary>
    internal int Position;
    /// <summary>The current text command's line, without its terminator, measured in its first step.</summary>
    internal int LineLength;
    /// <summary>Where a multiget's keys start in its line.</summary>
    internal int KeysStart;
    /// <summary>gat's expiry, computed in its first step.</summary>
    internal uint ExpTime;
    /// <summary>The request's protocol, decided from its first byte.</summary>
    internal WireKind Kind;

    /// <summary>Readies the cursor for another request.</summary>
    public void Reset() => this = default;
}

/// <summary>Counts the host keeps for <c>stats</c>: connections and bytes moved.</summary>
internal sealed class KvHostStats
{
    private long _currentConnections;
    private long _totalConnections;

    /// <summary>Open connections (curr_connections).</summary>
    public long CurrentConnections => Volatile.Read(ref _currentConnections);

    /// <summary>Connections ever opened (total_connections).</summary>
    public long TotalConnections => Volatile.Read(ref _totalConnections);

    /// <summary>A connection opened (atomic counts: transports open and close on several threads; stats read them racily).</summary>
    public void ConnectionOpened()
    {
        Interlocked.Increment(ref _currentConnections);
        Interlocked.Increment(ref _totalConnections);
    }

    /// <summary>A connection closed.</summary>
    public void ConnectionClosed() => Interlocked.Decrement(ref _currentConnections);
}

/// <summary>
/// Executes memcached requests (text, meta and binary) against a <see cref="KvStore"/>.
/// </summary>
/// <remarks>
/// <para>The adapter's loop, for a request framed by <see cref="KvProtocol"/> (the bytes after
/// <see cref="Frame.BodyOffset"/>):</para>
/// <code>
/// var cursor = default(KvCursor);
/// KvStatus status;
/// while ((status = engine.Execute(request, ref cursor, reply)) == KvStatus.Continue)
/// {
///     await ctx.Checkpoint();
/// }
/// if (status == KvStatus.Close) { /* close the connection after this reply */ }
/// </code>
/// <para>A step does bounded work: one command, or up to <see cref="KvOptions.KeysPerStep"/> keys of
/// a multiget (or commands of a datagram or a run of binary quiet gets). Each store call takes and
/// releases its own locks, so nothing is held across a step. Replies are written as memcached
/// writes them, including nothing at all for noreply and quiet commands. GET and SET allocate
/// nothing on the managed heap.</para>
/// </remarks>
internal sealed partial class KvEngine
{
    private readonly KvStore _store;
    private readonly KvOptions _options;
    private readonly KvClock _clock;
    private readonly KvProtocol _protocol;
    private volatile int _verbosity;

    /// <summary>An engine over <paramref name="store"/>; <paramref name="host"/> supplies connection counts for stats.</summary>
    public KvEngine(KvStore store, KvHostStats? host = null)
    {
        _store = store;
        _options = store.Options;
        _clock = store.Clock;
        Host = host ?? new KvHostStats();
        _protocol = new KvProtocol(_options, _clock) { Host = Host };
    }

    /// <summary>The host's counts, shown by stats.</summary>
    public KvHostStats Host { get; }

    /// <summary>Server-side latency per request type, counted by the handler and shown by <c>stats latency</c>.</summary>
    public KvLatency Latency { get; } = new();

    /// <summary>The store.</summary>
    public KvStore Store => _store;

    /// <summary>The protocol whose frames this engine executes.</summary>
    public KvProtocol Protocol => _protocol;

    private KvCounters Counters => _store.Counters;

    /// <summary>
    /// Runs the next step of <paramref name="request"/> (one frame's bytes after its BodyOffset),
    /// appending its reply to <paramref name="reply"/>. Call again with the same request and cursor
    /// while it returns <see cref="KvStatus.Continue"/>.
    /// </summary>
    public KvStatus Execute(ReadOnlySpan<byte> request, ref KvCursor cursor, IBufferWriter<byte> reply)
    {
        if (request.IsEmpty)
        {
            return KvStatus.Done;
        }
        if (cursor.Kind == WireKind.Undecided)
        {
            cursor.Kind = request[0] == BinaryHeader.RequestMagic ? WireKind.Binary : WireKind.Text;
        }
        var writer = new ReplyWriter(reply);
        int budget = _options.KeysPerStep;
        while (true)
        {
            if (cursor.Offset >= request.Length)
            {
                return KvStatus.Done;
            }
            ReadOnlySpan<byte> rest = request[cursor.Offset..];
            if (cursor.Phase == 0)
            {
                FrameStatus framed = CommandFramer.FrameOne(rest, cursor.Kind, _options, _clock, _protocol.MaxRequestBytes, out CommandFrame frame);
                if (framed != FrameStatus.Request)
                {
                    // Only a datagram can end in bytes that are not a command: memcached drops them.
                    return KvStatus.Done;
                }
                cursor.CommandLength = (int)frame.Length;
                cursor.SkipAfter = (int)Math.Min(frame.SkipAfter, int.MaxValue);
            }
            ReadOnlySpan<byte> command = rest[..cursor.CommandLength];
            Step step = cursor.Kind == WireKind.Binary
                ? ExecuteBinary(command, ref writer)
                : ExecuteText(command, ref cursor, ref writer, ref budget);
            if (step == Step.Continue)
            {
                return KvStatus.Continue;
            }
            if (step == Step.Close)
            {
                return KvStatus.Close;
            }
            long next = (long)cursor.Offset + cursor.CommandLength + cursor.SkipAfter;
            cursor.Offset = (int)Math.Min(next, request.Length);
            cursor.Phase = 0;
            cursor.Position = 0;
            if (cursor.Offset >= request.Length)
            {
                return KvStatus.Done;
            }
            if (--budget <= 0)
            {
                return KvStatus.Continue;
            }
        }
    }

    /// <summary>How a command's step ended.</summary>
    private enum Step : byte
    {
        Done,
        Continue,
        Close,
    }
}
