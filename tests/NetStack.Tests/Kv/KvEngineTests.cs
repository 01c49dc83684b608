// The engine's step contract: long requests run in bounded steps that hold nothing between them, GET and SET allocate nothing.
using System.Buffers;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using Xunit;

namespace NetStack.Tests.Kv;

public class KvEngineTests
{
    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>Runs a request to its end; the reply, the steps it took, and how it ended.</summary>
    private static (string Reply, int Steps, KvStatus Status) Run(KvEngine engine, byte[] request)
    {
        var reply = new ArrayBufferWriter<byte>();
        var cursor = default(KvCursor);
        int steps = 1;
        KvStatus status;
        while ((status = engine.Execute(request, ref cursor, reply)) == KvStatus.Continue)
        {
            steps++;
            Assert.True(steps < 100_000, "the request never finished");
        }
        return (Encoding.Latin1.GetString(reply.WrittenSpan), steps, status);
    }

    private static KvEngine Engine(int keysPerStep, out KvStore store)
    {
        store = new KvStore(new KvOptions { MemoryLimitMegabytes = 16, KeysPerStep = keysPerStep });
        return new KvEngine(store);
    }

    private static void Load(KvEngine engine, int keys)
    {
        for (int i = 0; i < keys; i++)
        {
            Assert.Equal("STORED\r\n", Run(engine, Latin1($"set key{i} {i} 0 {i % 10}\r\n{new string('v', i % 10)}\r\n")).Reply);
        }
    }

    [Fact]
    public void AMultigetRunsAFewKeysPerStepAndAnswersAsIfInOne()
    {
        KvEngine stepped = Engine(keysPerStep: 4, out KvStore s1);
        KvEngine whole = Engine(keysPerStep: 100_000, out KvStore s2);
        using (s1)
        using (s2)
        {
            Load(stepped, 100);
            Load(whole, 100);
            byte[] get = Latin1("gets " + string.Join(' ', Enumerable.Range(0, 120).Select(i => $"key{i % 110}")) + "\r\n");

            (string steppedReply, int steps, KvStatus status) = Run(stepped, get);
            (string wholeReply, int one, _) = Run(whole, get);

            Assert.Equal(KvStatus.Done, status);
            Assert.Equal(1, one);
            Assert.InRange(steps, 120 / 4, 120 / 4 + 2);
            // CAS uniques agree too: both stores linked the same items in the same order.
            Assert.Equal(wholeReply, steppedReply);
            Assert.EndsWith("END\r\n", steppedReply);
            Assert.Equal(110, steppedReply.Split("VALUE ").Length - 1);
        }
    }

    [Fact]
    public void AMultigetsLaterStepsKeepTheLineItsFirstStepRead()
    {
        // memcached ends a line at a NUL; the later steps take the line's length from the cursor, so
        // the keys after the NUL stay out of every step, not only the first.
        KvEngine engine = Engine(keysPerStep: 1, out KvStore store);
        using (store)
        {
            Load(engine, 10);
            (string reply, int steps, KvStatus status) = Run(engine, Latin1("get key1 key2 key3\0 key4 key5\r\n"));

            Assert.Equal(KvStatus.Done, status);
            Assert.InRange(steps, 3, 5);
            Assert.Equal("VALUE key1 1 1\r\nv\r\nVALUE key2 2 2\r\nvv\r\nVALUE key3 3 3\r\nvvv\r\nEND\r\n", reply);
        }
    }

    [Fact]
    public void AVeryLongGetLineIsCheckedInStepsAndAKeyOver250BytesAnywhereFailsItWhole()
    {
        KvEngine engine = Engine(keysPerStep: 4, out KvStore store);
        using (store)
        {
            Load(engine, 10);
            string keys = string.Join(' ', Enumerable.Range(0, 3000).Select(i => $"key{i % 10}"));
            (string reply, int steps, KvStatus status) = Run(engine, Latin1($"get {keys} {new string('k', 251)}\r\n"));
            Assert.Equal(("CLIENT_ERROR bad command line format\r\n", KvStatus.Done), (reply, status));
            // Checked 4 x 64 keys a step: no step scans the whole line.
            Assert.InRange(steps, 3000 / 256, 3000 / 256 + 2);

            (reply, steps, status) = Run(engine, Latin1($"get {keys}\r\n"));
            Assert.Equal(KvStatus.Done, status);
            Assert.Equal(3000, reply.Split("VALUE ").Length - 1);
            Assert.InRange(steps, 3000 / 4, 3000 / 4 + 3000 / 256 + 2);
        }
    }

    [Fact]
    public void NoLockIsHeldBetweenSteps()
    {
        KvEngine engine = Engine(keysPerStep: 2, out KvStore store);
        using (store)
        {
            Load(engine, 20);
            byte[] get = Latin1("get " + string.Join(' ', Enumerable.Range(0, 20).Select(i => $"key{i}")) + "\r\n");
            var reply = new ArrayBufferWriter<byte>();
            var cursor = default(KvCursor);
            int steps = 0;
            while (engine.Execute(get, ref cursor, reply) == KvStatus.Continue)
            {
                steps++;
                // Between two steps every key must be writable and readable from another thread at
                // once; a lock kept across the step would make this wait forever.
                var other = new Thread(() =>
                {
                    for (int i = 0; i < 20; i++)
                    {
                        Run(engine, Latin1($"set key{i} 0 0 1\r\nz\r\n"));
                        Run(engine, Latin1($"incr n{i} 1\r\ndelete key{i % 3}\r\n"));
                    }
                }) { IsBackground = true };
                other.Start();
                Assert.True(other.Join(TimeSpan.FromSeconds(30)), "a write between two steps of a multiget did not finish");
            }
            Assert.True(steps >= 5);
            Assert.EndsWith("END\r\n", Encoding.Latin1.GetString(reply.WrittenSpan));
        }
    }

    [Fact]
    public void ARunOfBinaryQuietGetsRunsInSteps()
    {
        KvEngine engine = Engine(keysPerStep: 4, out KvStore store);
        using (store)
        {
            Load(engine, 40);
            byte[] run = Bin.Concat([.. Enumerable.Range(0, 40).Select(i => Bin.Request(0x0d, $"key{i}", opaque: (uint)i))]);
            (string reply, int steps, KvStatus status) = Run(engine, run);
            Assert.Equal(KvStatus.Done, status);
            Assert.InRange(steps, 10, 11);
            Assert.Equal(40 * 24 + Enumerable.Range(0, 40).Sum(i => 4 + $"key{i}".Length + i % 10), reply.Length);
        }
    }

    [Fact]
    public void ADatagramsCommandsAllRunAndEachCountsAsAStep()
    {
        KvEngine engine = Engine(keysPerStep: 1, out KvStore store);
        using (store)
        {
            (string reply, int steps, KvStatus status) = Run(engine, Latin1("set a 0 0 1\r\nx\r\nget a\r\nincr a 1\r\nmn\r\n"));
            Assert.Equal(KvStatus.Done, status);
            Assert.Equal(4, steps);
            Assert.Equal("STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nMN\r\n", reply);
        }
    }

    [Fact]
    public void QuitAndBinaryQuitAndHttpRequestLinesCloseTheConnection()
    {
        KvEngine engine = Engine(keysPerStep: 4, out KvStore store);
        using (store)
        {
            Assert.Equal(("", 1, KvStatus.Close), Run(engine, Latin1("quit\r\n")));
            Assert.Equal(KvStatus.Close, Run(engine, Bin.Request(0x07)).Status);
            Assert.Equal(24, Run(engine, Bin.Request(0x07)).Reply.Length);
            Assert.Equal(("", 1, KvStatus.Close), Run(engine, Bin.Request(0x17)));
            Assert.Equal(("", 1, KvStatus.Close), Run(engine, Latin1("POST /x HTTP/1.1\r\n")));
        }
    }

    [Fact]
    public void GetAndSetAllocateNothingOnceWarm()
    {
        KvEngine engine = Engine(keysPerStep: 4, out KvStore store);
        using (store)
        {
            byte[][] requests =
            [
                Latin1("set key:1 7 0 10\r\n0123456789\r\n"),
                Latin1("get key:1\r\n"),
                Latin1("gets key:1 key:2\r\n"),
                Latin1("set key:2 0 100 3 noreply\r\nabc\r\n"),
                Latin1("get " + string.Join(' ', Enumerable.Range(0, 20).Select(i => $"key:{i % 3}")) + "\r\n"),
                Latin1("mg key:1 v k f t c s\r\n"),
                Latin1("ms key:3 5 T10 F1\r\nhello\r\n"),
                Bin.Request(0x01, "key:4", Bin.SetExtras(3, 0), Latin1("binary"), opaque: 1),
                Bin.Request(0x00, "key:4", opaque: 2),
                Bin.Request(0x0c, "nope", opaque: 3),
                Bin.Concat(Bin.Request(0x0d, "key:4"), Bin.Request(0x09, "key:1"), Bin.Request(0x0d, "nope")),
            ];
            var reply = new ArrayBufferWriter<byte>(1 << 16);
            void RunAll(int rounds)
            {
                for (int r = 0; r < rounds; r++)
                {
                    foreach (byte[] request in requests)
                    {
                        var cursor = default(KvCursor);
                        while (engine.Execute(request, ref cursor, reply) == KvStatus.Continue)
                        {
                        }
                        reply.ResetWrittenCount();
                    }
                }
            }

            RunAll(2000);
            long before = GC.GetAllocatedBytesForCurrentThread();
            RunAll(5000);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(0, allocated);
            Assert.Equal(4, store.Counters.Read(KvCounter.CurrItems));
        }
    }
}
