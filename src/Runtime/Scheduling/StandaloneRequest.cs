// Runs a handler outside the IOKernel: for the conventional baseline servers, and for users' own handler tests.
using NetStack.Runtime.Buffers;

namespace NetStack.Runtime.Scheduling;

/// <summary>
/// One reusable request for running an <see cref="IRequestHandler"/> on an ordinary thread: its
/// checkpoints never yield, so the handler runs to completion, and a handler that awaits real I/O is
/// waited for. The baseline servers use it (one per in-flight request, pooled), and so can a unit
/// test of a handler: set the request, run, read <see cref="Reply"/>.
/// </summary>
public sealed class StandaloneRequest : IDisposable
{
    private readonly GreenThread _thread;
    private readonly int _maxReplyBytes;
    private readonly int _headerBytes;

    /// <summary>A request whose reply is held in one buffer of <paramref name="maxReplyBytes"/> (a handler's unit test).</summary>
    /// <param name="maxReplyBytes">The reply body's bound.</param>
    /// <param name="replyHeaderBytes">Bytes kept in front of the body for the protocol's header.</param>
    public StandaloneRequest(int maxReplyBytes = 64 * 1024, int replyHeaderBytes = 0)
        : this(null, maxReplyBytes, maxReplyBytes, replyHeaderBytes)
    {
    }

    /// <param name="segments">Where overflow segments come from (null: a reply must fit inline).</param>
    /// <param name="inlineReplyBytes">Reply bytes before overflow segments are needed.</param>
    /// <param name="maxReplyBytes">The reply body's bound.</param>
    /// <param name="replyHeaderBytes">Bytes kept in front of the body for the protocol's header.</param>
    internal StandaloneRequest(ReplySegmentPool? segments, int inlineReplyBytes = 2048, int maxReplyBytes = 1 << 20, int replyHeaderBytes = 0)
    {
        _maxReplyBytes = maxReplyBytes;
        _headerBytes = replyHeaderBytes;
        _thread = new GreenThread(new ReplyWriter(inlineReplyBytes, maxReplyBytes, segments));
        _thread.Reset(replyHeaderBytes, maxReplyBytes);
    }

    /// <summary>What the handler sees.</summary>
    public RequestContext Context => _thread.Context;

    /// <summary>The reply, once <see cref="Run"/> returned.</summary>
    public ReplyWriter Reply => _thread.Reply;

    /// <summary>How the last run ended.</summary>
    public RequestStatus Status => _thread.Status;

    /// <summary>The handler's exception, when it threw.</summary>
    public Exception? Error => _thread.Error;

    /// <summary>True when the handler asked for its connection to close after this reply.</summary>
    public bool CloseAfterReply => _thread.CloseAfterReply;

    /// <summary>Prepares the next request (clears the reply).</summary>
    public void Prepare(ReadOnlyMemory<byte> request, long id = 0, int type = 0, long serviceNs = 0,
        ConnectionInfo connection = default, int appId = 0)
    {
        _thread.Reset(_headerBytes, _maxReplyBytes);
        _thread.SetRequest(request);
        _thread.Id = id;
        _thread.Type = type;
        _thread.ServiceNs = serviceNs;
        _thread.Connection = connection;
        _thread.AppId = appId;
    }

    /// <summary>Runs <paramref name="handler"/> on the calling thread to its end. Returns its status:
    /// <see cref="RequestStatus.Error"/> when it threw or overflowed its reply.</summary>
    public RequestStatus Run(IRequestHandler handler)
    {
        try
        {
            ValueTask task = handler.HandleAsync(_thread.Context);
            if (task.IsCompleted)
            {
                task.GetAwaiter().GetResult();
            }
            else
            {
                task.AsTask().GetAwaiter().GetResult();
            }
            _thread.Status = _thread.Reply.Overflowed ? RequestStatus.Error : RequestStatus.Ok;
        }
        catch (Exception e)
        {
            _thread.Refuse(RequestStatus.Error);
            _thread.SetError(e);
        }
        return _thread.Status;
    }

    /// <summary>Frees the reply buffer.</summary>
    public void Dispose() => _thread.Reply.Dispose();
}
