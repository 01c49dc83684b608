// The fuzz runner: CsCheck properties with a bounded budget in CI, a longer one in bench, a hang bound, and a count of inputs tried.
using System.Collections.Concurrent;
using System.Globalization;
using CsCheck;

namespace NetStack.Tests.Fuzz;

/// <summary>
/// Runs a property over generated inputs with CsCheck, which shrinks a failing input to a small one
/// and reports the seed that replays it.
/// </summary>
/// <remarks>
/// <para>Budget: each property names its iterations for CI (a few thousand: the whole fuzz suite
/// takes seconds). <c>NETSTACK_FUZZ_SCALE</c> multiplies them; <c>NETSTACK_FUZZ_SECONDS</c> runs
/// each property for that many seconds instead (bench/fuzz.sh). <c>NETSTACK_FUZZ_SEED</c> replays
/// the seed a failure printed.</para>
/// <para>Hangs: a case that has not returned within <see cref="HangSeconds"/> fails the property and
/// names the input it was given (parsers have no blocking call, so a case that long is a loop).
/// Every driver loop in the properties also has a step budget of its own.</para>
/// <para>Counts: every case tried is counted per property; with <c>NETSTACK_FUZZ_LOG</c> set, one
/// line "property inputs" is appended to that file per property, for bench/fuzz.sh to add up.</para>
/// </remarks>
internal static class Fuzz
{
    /// <summary>Seconds one case may take before it counts as a hang (generous: a busy 2-core machine).</summary>
    public const int HangSeconds = 30;

    private static readonly double s_scale = ReadDouble("NETSTACK_FUZZ_SCALE", 1);
    private static readonly double s_seconds = ReadDouble("NETSTACK_FUZZ_SECONDS", 0);
    private static readonly string? s_seed = Environment.GetEnvironmentVariable("NETSTACK_FUZZ_SEED") is { Length: > 0 } s ? s : null;
    private static readonly string? s_log = Environment.GetEnvironmentVariable("NETSTACK_FUZZ_LOG") is { Length: > 0 } l ? l : null;
    private static readonly object s_logGate = new();

    /// <summary>The iterations a property of <paramref name="ciIterations"/> gets in this run.</summary>
    public static long Iterations(long ciIterations) => Math.Max(1, (long)(ciIterations * s_scale));

    /// <summary>
    /// Checks <paramref name="property"/> on inputs from <paramref name="gen"/>; throws (failing the
    /// test) with the shrunk input and its seed when the property throws or a case hangs.
    /// </summary>
    /// <param name="name">The property's name, for the count.</param>
    /// <param name="threads">Threads CsCheck samples on (1 where the property keeps state, such as a store).</param>
    /// <returns>How many inputs were tried.</returns>
    public static long Check<T>(string name, Gen<T> gen, Action<T> property, long ciIterations, Func<T, string>? print = null, int threads = -1)
    {
        long tried = 0;
        var running = new ConcurrentDictionary<int, (T Input, long Started)>();
        Func<T, string> describe = print ?? Describe;
        string? smallest = null;
        string? smallestError = null;
        void Case(T input)
        {
            int thread = Environment.CurrentManagedThreadId;
            running[thread] = (input, Environment.TickCount64);
            try
            {
                property(input);
            }
            catch (Exception e)
            {
                // CsCheck shrinks by trying smaller inputs; the smallest failing one is the one to report.
                string text = describe(input);
                lock (running)
                {
                    if (smallest is null || text.Length < smallest.Length)
                    {
                        smallest = text;
                        smallestError = $"{e.GetType().Name}: {e.Message}";
                    }
                }
                throw;
            }
            finally
            {
                running.TryRemove(thread, out _);
                Interlocked.Increment(ref tried);
            }
        }

        long iterations = s_seconds > 0 ? -1 : Iterations(ciIterations);
        int time = s_seconds > 0 ? (int)Math.Ceiling(s_seconds) : -1;
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try
            {
                gen.Sample(Case, writeLine: null, seed: s_seed, iter: iterations, time: time, threads: threads, print: print);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = $"fuzz {name}" };
        worker.Start();
        while (!worker.Join(TimeSpan.FromSeconds(1)))
        {
            foreach ((int _, (T input, long started)) in running)
            {
                if (Environment.TickCount64 - started > HangSeconds * 1000L)
                {
                    // The case's thread is left spinning (it is a background thread): the test fails now.
                    throw new Xunit.Sdk.XunitException(
                        $"fuzz {name}: a case ran past {HangSeconds} s (a hang) on input {describe(input)}");
                }
            }
        }
        Record(name, tried);
        if (failure is not null)
        {
            string seed = failure.Message.Split('\n')[0];
            throw new Xunit.Sdk.XunitException($"fuzz {name} failed after {tried} inputs: {smallestError}\n{seed}\nsmallest failing input: {smallest}");
        }
        return tried;
    }

    /// <summary>
    /// As <see cref="Check"/> for properties against a live host, where shrinking would replay
    /// failing cases (each bounded by network deadlines) for minutes: inputs are drawn one after
    /// another from a seed, and the first failure reports the seed, the case and its input.
    /// </summary>
    /// <returns>How many inputs were tried.</returns>
    public static long Run<T>(string name, Gen<T> gen, Action<T> property, long ciIterations, Func<T, string>? print = null)
    {
        ulong seed = s_seed is not null && ulong.TryParse(s_seed, NumberStyles.None, CultureInfo.InvariantCulture, out ulong s) ? s : (ulong)Random.Shared.NextInt64();
        var pcg = new PCG(1, seed);
        long deadline = s_seconds > 0 ? Environment.TickCount64 + (long)(s_seconds * 1000) : long.MaxValue;
        long iterations = s_seconds > 0 ? long.MaxValue : Iterations(ciIterations);
        long tried = 0;
        try
        {
            for (; tried < iterations && Environment.TickCount64 < deadline; tried++)
            {
                T input = gen.Generate(pcg, null, out _);
                try
                {
                    property(input);
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"fuzz {name} failed on case {tried} (NETSTACK_FUZZ_SEED={seed} replays it): " +
                        $"{e.GetType().Name}: {e.Message}\ninput: {(print ?? Describe)(input)}");
                }
            }
        }
        finally
        {
            Record(name, tried);
        }
        return tried;
    }

    /// <summary>Bytes as hex, for failure messages (CsCheck prints the shrunk input with it).</summary>
    public static string Hex(byte[] bytes) =>
        bytes.Length <= 1024 ? Convert.ToHexString(bytes) : $"{Convert.ToHexString(bytes.AsSpan(0, 1024))}... ({bytes.Length} bytes)";

    private static string Describe<T>(T input) => input switch
    {
        byte[] b => Hex(b),
        _ => input?.ToString() ?? "null",
    };

    private static void Record(string name, long tried)
    {
        if (s_log is null)
        {
            return;
        }
        lock (s_logGate)
        {
            File.AppendAllText(s_log, $"{name} {tried.ToString(CultureInfo.InvariantCulture)}\n");
        }
    }

    private static double ReadDouble(string variable, double fallback) =>
        double.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0
            ? v
            : fallback;
}
