// The cross-core round trip, measured in the same run as what it explains: ping-pong on two padded longs.
using NetStack.Runtime;

namespace NetStack.MicroBenchmarks.Support;

/// <summary>
/// The machine's floor under every handoff (loadgen/Noise/CrossCoreProbe.cs does the same): the
/// measured thread writes a sequence number into one padded word, a <see cref="PinnedThread"/> on the
/// other core echoes it into another, and the measured thread spins until it sees the echo. One
/// round trip is two cache-line transfers. On this kind of VM it moves between ~100 and ~1200 ns
/// during a day (PLATFORM.md), so the benchmarks that hand work across cores measure it beside
/// themselves and <see cref="PerRoundTripColumn"/> states their results in round trips.
/// </summary>
internal sealed class CrossCorePingPong
{
    private sealed class Words
    {
        public PaddedLong Ping;
        public PaddedLong Pong;
    }

    private readonly Words _words = new();
    private readonly PinnedThread _echo;
    private long _sequence;

    /// <summary>Starts the echo on <paramref name="core"/>.</summary>
    public CrossCorePingPong(int core)
    {
        Words w = _words;
        _echo = new PinnedThread("bench-echo", core, self =>
        {
            var backoff = new IdleBackoff();
            long seen = 0;
            while (!self.StopRequested)
            {
                // Acquire/release are more than a bare echo needs; Volatile keeps each read a real load.
                long ping = Volatile.Read(ref w.Ping.Value);
                if (ping != seen)
                {
                    seen = ping;
                    Volatile.Write(ref w.Pong.Value, ping);
                    backoff.Reset();
                }
                else
                {
                    backoff.Idle();
                }
            }
        });
    }

    /// <summary>Makes <paramref name="count"/> round trips, one after another.</summary>
    public void RoundTrips(int count)
    {
        Words w = _words;
        long s = _sequence;
        for (int i = 0; i < count; i++)
        {
            s++;
            Volatile.Write(ref w.Ping.Value, s);
            while (Volatile.Read(ref w.Pong.Value) != s)
            {
            }
        }
        _sequence = s;
    }

    /// <summary>Stops the echo.</summary>
    public void Stop() => _echo.Stop();
}
