// Several threads on overlapping keys: increments and CAS updates add up exactly, and no read ever sees a value that was not written whole.
using System.Buffers;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using Xunit;
using Xunit.Abstractions;

namespace NetStack.Tests.Kv;

public class KvConcurrencyTests(ITestOutputHelper output)
{
    private const int Threads = 4;
    private static readonly TimeSpan s_timeLimit = TimeSpan.FromSeconds(20);

    /// <summary>Runs one text request to its end on this thread's writer and returns the reply.</summary>
    private static string Run(KvEngine engine, ArrayBufferWriter<byte> reply, string request)
    {
        reply.ResetWrittenCount();
        byte[] bytes = Encoding.Latin1.GetBytes(request);
        var cursor = default(KvCursor);
        while (engine.Execute(bytes, ref cursor, reply) == KvStatus.Continue)
        {
            Thread.Yield();
        }
        return Encoding.Latin1.GetString(reply.WrittenSpan);
    }

    private static void RunThreads(Action<int, Random, DateTime> body)
    {
        var deadline = DateTime.UtcNow + s_timeLimit;
        var errors = new List<Exception>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                body(t, new Random(1234 + t), deadline);
            }
            catch (Exception e)
            {
                lock (errors)
                {
                    errors.Add(e);
                }
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }
        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(s_timeLimit + TimeSpan.FromSeconds(30)), "a worker thread did not finish");
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void IncrementsAndCasUpdatesFromManyThreadsAddUpExactly()
    {
        using var store = new KvStore(new KvOptions { MemoryLimitMegabytes = 16 });
        var engine = new KvEngine(store);
        var setup = new ArrayBufferWriter<byte>();
        const int counters = 4;
        for (int c = 0; c < counters; c++)
        {
            Assert.Equal("STORED\r\n", Run(engine, setup, $"set c{c} 0 0 1\r\n0\r\n"));
        }
        Assert.Equal("STORED\r\n", Run(engine, setup, "set cas 0 0 1\r\n0\r\n"));
        long[,] increments = new long[Threads, counters];
        long[] casWins = new long[Threads];
        const int operations = 20_000;

        RunThreads((t, random, deadline) =>
        {
            var reply = new ArrayBufferWriter<byte>();
            ulong lastSeen = 0;
            for (int i = 0; i < operations && DateTime.UtcNow < deadline; i++)
            {
                int c = random.Next(counters);
                switch (random.Next(4))
                {
                    case 0:
                        Assert.Matches(@"^\d+\r\n$", Run(engine, reply, $"incr c{c} 1\r\n"));
                        increments[t, c]++;
                        break;
                    case 1:
                        Assert.Equal(ArithResult.Ok, store.Arith(Encoding.ASCII.GetBytes($"c{c}"), new ArithRequest { Incr = true, Delta = 3 }, out _));
                        increments[t, c] += 3;
                        break;
                    case 2:
                        // Read a counter: a number, never less than this thread saw it last.
                        string got = Run(engine, reply, "get c0\r\n");
                        ulong value = ulong.Parse(got.Split("\r\n")[1].TrimEnd());
                        Assert.True(value >= lastSeen, $"c0 went from {lastSeen} to {value}");
                        lastSeen = value;
                        break;
                    default:
                        // Optimistic update: read with its CAS, write back one more if nobody came between.
                        string[] gets = Run(engine, reply, "gets cas\r\n").Split("\r\n");
                        string[] header = gets[0].Split(' ');
                        ulong n = ulong.Parse(gets[1].TrimEnd());
                        string result = Run(engine, reply, $"cas cas 0 0 {(n + 1).ToString().Length} {header[4]}\r\n{n + 1}\r\n");
                        Assert.True(result is "STORED\r\n" or "EXISTS\r\n", result);
                        if (result == "STORED\r\n")
                        {
                            casWins[t]++;
                        }
                        break;
                }
            }
        });

        var reader = new ArrayBufferWriter<byte>();
        for (int c = 0; c < counters; c++)
        {
            long expected = Enumerable.Range(0, Threads).Sum(t => increments[t, c]);
            ulong value = ulong.Parse(Run(engine, reader, $"get c{c}\r\n").Split("\r\n")[1].TrimEnd());
            Assert.Equal((ulong)expected, value);
        }
        Assert.Null(store.FindInconsistency());
        ulong cas = ulong.Parse(Run(engine, reader, "get cas\r\n").Split("\r\n")[1]);
        Assert.Equal((ulong)casWins.Sum(), cas);
        Assert.True(casWins.Sum() > 0);
    }

    /// <summary>A value made of blocks, each saying its own length and seed and holding bytes derived
    /// from the seed, so a reader can tell a whole value from a torn one.</summary>
    private static string Block(Random random)
    {
        int length = random.Next(4, 120);
        int seed = random.Next(256);
        var chars = new char[length];
        chars[0] = (char)length;
        chars[1] = (char)seed;
        for (int j = 2; j < length; j++)
        {
            chars[j] = (char)((seed + j) & 0xff);
        }
        return new string(chars);
    }

    private static void CheckWhole(string key, string value)
    {
        int p = 0;
        while (p < value.Length)
        {
            int length = value[p];
            Assert.True(length >= 4 && p + length <= value.Length, $"{key}: a block of {length} at {p} in {value.Length} bytes");
            int seed = value[p + 1];
            for (int j = 2; j < length; j++)
            {
                Assert.True(value[p + j] == (char)((seed + j) & 0xff), $"{key}: byte {p + j} torn");
            }
            p += length;
        }
    }

    [Fact]
    public void ReadsNeverSeeATornValueWhileThreadsWriteAppendDeleteAndEvict()
    {
        // A small store, so the tail evicts (and pages move between classes) while the hot keys are
        // read and written. A store may then be refused for memory, as memcached refuses one when
        // everything it could evict is in use; it must never be torn.
        using var store = new KvStore(new KvOptions { MemoryLimitMegabytes = 8 });
        var engine = new KvEngine(store);
        const int hotKeys = 16;
        const int operations = 20_000;
        long reads = 0;
        long refused = 0;
        long stores = 0;
        const string NoMemory = "SERVER_ERROR out of memory storing object\r\n";
        string Store(KvEngine engine, ArrayBufferWriter<byte> reply, string request)
        {
            string result = Run(engine, reply, request);
            Interlocked.Increment(ref stores);
            if (result == NoMemory)
            {
                Interlocked.Increment(ref refused);
            }
            return result;
        }

        RunThreads((t, random, deadline) =>
        {
            var reply = new ArrayBufferWriter<byte>();
            for (int i = 0; i < operations && DateTime.UtcNow < deadline; i++)
            {
                string key = $"v{random.Next(hotKeys)}";
                string block = Block(random);
                switch (random.Next(10))
                {
                    case 0:
                    case 1:
                        string value = block + (random.Next(2) == 0 ? Block(random) : "");
                        Assert.Matches("^(STORED|SERVER_ERROR out of memory storing object)\r\n$", Store(engine, reply, $"set {key} 0 0 {value.Length}\r\n{value}\r\n"));
                        break;
                    case 2:
                        Assert.Matches("^(STORED|NOT_STORED|SERVER_ERROR out of memory storing object)\r\n$", Store(engine, reply, $"append {key} 0 0 {block.Length}\r\n{block}\r\n"));
                        break;
                    case 3:
                        Assert.Matches("^(STORED|NOT_STORED|SERVER_ERROR out of memory storing object)\r\n$", Store(engine, reply, $"prepend {key} 0 0 {block.Length}\r\n{block}\r\n"));
                        break;
                    case 4:
                        Assert.Matches("^(DELETED|NOT_FOUND)\r\n$", Run(engine, reply, $"delete {key}\r\n"));
                        break;
                    case 5:
                        // Churn: cold keys of a few KB push the hot ones towards the tail.
                        string filler = new('f', random.Next(1000, 2000));
                        Store(engine, reply, $"set cold{t}-{i} 0 0 {filler.Length}\r\n{filler}\r\n");
                        break;
                    case 6:
                        string[] gets = Run(engine, reply, $"gets {key}\r\n").Split(' ');
                        if (gets.Length >= 5)
                        {
                            string casToken = gets[4].Split("\r\n")[0];
                            Assert.Matches("^(STORED|EXISTS|NOT_FOUND|SERVER_ERROR out of memory storing object)\r\n$", Store(engine, reply, $"cas {key} 0 0 {block.Length} {casToken}\r\n{block}\r\n"));
                        }
                        break;
                    default:
                        string got = Run(engine, reply, $"get {key} v{random.Next(hotKeys)}\r\n");
                        int p = 0;
                        while (got.AsSpan(p).StartsWith("VALUE "))
                        {
                            int lineEnd = got.IndexOf("\r\n", p, StringComparison.Ordinal);
                            string[] header = got[p..lineEnd].Split(' ');
                            int length = int.Parse(header[3]);
                            CheckWhole(header[1], got.Substring(lineEnd + 2, length));
                            Assert.Equal("\r\n", got.Substring(lineEnd + 2 + length, 2));
                            p = lineEnd + 2 + length + 2;
                            Interlocked.Increment(ref reads);
                        }
                        Assert.Equal("END\r\n", got[p..]);
                        break;
                }
            }
        });

        Assert.True(reads > 100, $"only {reads} values read");
        output.WriteLine($"{reads} values read whole, {stores} stores ({refused} refused for memory), "
            + $"{store.Counters.Read(KvCounter.Evictions)} evictions, {store.PagesUsed} of {store.PageCount} pages in use");
        Assert.True(refused < stores / 2, $"{refused} of {stores} stores refused for memory");
        Assert.True(store.Counters.Read(KvCounter.Evictions) > 0, "the test meant to evict under load");
        // Every structure is whole, and every reference was given back: once each item is
        // deleted, every page is back in the pool.
        Assert.Null(store.FindInconsistency());
        var final = new ArrayBufferWriter<byte>();
        for (int k = 0; k < hotKeys; k++)
        {
            Run(engine, final, $"delete v{k}\r\n");
        }
        for (int t = 0; t < Threads; t++)
        {
            for (int i = 0; i < operations; i++)
            {
                Run(engine, final, $"delete cold{t}-{i}\r\n");
            }
        }
        Assert.Null(store.FindInconsistency());
        Assert.Equal(0, store.Counters.Read(KvCounter.CurrItems));
        Assert.Equal(0, store.PagesUsed);
    }
}
