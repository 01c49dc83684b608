// The other side of a cross-core benchmark: a thread pinned to its own core, running one loop until stopped.
using System.Runtime.CompilerServices;
using NetStack.Runtime;

namespace NetStack.MicroBenchmarks.Support;

/// <summary>
/// A dedicated thread pinned to one core that runs <c>loop</c> once; the loop polls
/// <see cref="StopRequested"/> and backs off with an <see cref="IdleBackoff"/> when it finds nothing.
/// A benchmark starts it in its GlobalSetup and stops it in its GlobalCleanup.
/// </summary>
internal sealed class PinnedThread
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _pinned = new(false);
    private Exception? _pinFailure;
    private volatile bool _stop;

    /// <summary>Starts the thread; returns once it is pinned, or throws why it could not be.</summary>
    public PinnedThread(string name, int core, Action<PinnedThread> loop)
    {
        _thread = new Thread(() =>
        {
            try
            {
                Affinity.PinCurrentThread(core);
            }
            catch (Exception e)
            {
                _pinFailure = e;
                _pinned.Set();
                return;
            }
            _pinned.Set();
            loop(this);
        })
        { IsBackground = true, Name = name };
        _thread.Start();
        _pinned.Wait();
        if (_pinFailure is not null)
        {
            throw _pinFailure;
        }
    }

    /// <summary>True once <see cref="Stop"/> was called: the loop returns.</summary>
    public bool StopRequested => _stop;

    /// <summary>Asks the loop to end and waits for it.</summary>
    public void Stop()
    {
        _stop = true;
        if (!_thread.Join(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"{_thread.Name} did not stop within 10 s");
        }
    }
}

/// <summary>
/// The back-off of a partner's poll loop: pure spinning while work comes often, then a
/// <c>sched_yield</c> per empty poll, so between BenchmarkDotNet's iterations the pinned thread
/// leaves its core to whatever else must run there (PLATFORM.md: a spinning pinned thread starves
/// an unpinned one for a whole time slice). No clock read: an empty poll costs a compare.
/// </summary>
internal struct IdleBackoff
{
    /// <summary>Empty polls before yielding: tens of µs here, far above any handoff measured.</summary>
    private const int SpinPolls = 1 << 15;

    private int _empty;

    /// <summary>The poll found work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Reset() => _empty = 0;

    /// <summary>The poll found nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Idle()
    {
        if (++_empty > SpinPolls)
        {
            Thread.Yield();
        }
    }
}
