// Measures the machine's cost of handing a cache line between two cores: the floor under every dispatch.
using NetStack.Runtime;

namespace NetStack.LoadGen.Noise;

/// <summary>
/// Ping-pong through two padded words between two pinned threads. A dispatcher's ceiling is a few
/// of these round trips per request, and on a VM the figure moves from day to day (on the
/// reference machine it has been seen at ~125 ns and at ~515 ns), so every report records it.
/// </summary>
internal static class CrossCoreProbe
{
    private sealed class Words
    {
        public PaddedLong Ping;
        public PaddedLong Pong;
    }

    /// <summary>Median round trip in ns between <paramref name="coreA"/> and <paramref name="coreB"/>,
    /// over five rounds of <paramref name="roundTrips"/>; NaN when the cores are the same.</summary>
    public static double RoundTripNs(int coreA, int coreB, int roundTrips = 100_000)
    {
        if (coreA == coreB)
        {
            return double.NaN;
        }
        var rounds = new List<double>();
        for (int round = 0; round < 5; round++)
        {
            var w = new Words();
            var other = new Thread(() =>
            {
                Affinity.PinCurrentThread(coreB);
                for (long i = 1; i <= roundTrips; i++)
                {
                    while (Volatile.Read(ref w.Ping.Value) != i)
                    {
                    }
                    Volatile.Write(ref w.Pong.Value, i);
                }
            }) { IsBackground = true };
            var self = new Thread(() =>
            {
                Affinity.PinCurrentThread(coreA);
                long start = Clock.Now();
                for (long i = 1; i <= roundTrips; i++)
                {
                    Volatile.Write(ref w.Ping.Value, i);
                    while (Volatile.Read(ref w.Pong.Value) != i)
                    {
                    }
                }
                rounds.Add(Clock.ToNs(Clock.Now() - start) / (double)roundTrips);
            }) { IsBackground = true };
            other.Start();
            self.Start();
            self.Join();
            other.Join();
        }
        rounds.Sort();
        return rounds[rounds.Count / 2];
    }
}
