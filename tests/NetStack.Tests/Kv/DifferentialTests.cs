// kv against the reference memcached: the same command sequences, replies compared byte for byte after narrow normalization.
using System.Text;
using NetStack.Apps.Kv;
using Xunit;

namespace NetStack.Tests.Kv;

/// <summary>kv served over the TCP NIC on the syscalls (epoll).</summary>
[Collection(ReferenceMemcachedUsers.Name)]
public sealed class DifferentialTests(ReferenceMemcached memcached) : DifferentialTestsBase(memcached, global::NetStack.IOKernel.Nic.NicBackend.Syscalls);

/// <summary>The same, over the TCP NIC on io_uring.</summary>
[Collection(ReferenceMemcachedUsers.Name)]
public sealed class DifferentialTestsOnIoUring(ReferenceMemcached memcached) : DifferentialTestsBase(memcached, global::NetStack.IOKernel.Nic.NicBackend.IoUring);

public abstract class DifferentialTestsBase : IClassFixture<ReferenceMemcached>, IDisposable
{
    private readonly ReferenceMemcached _memcached;
    private readonly KvHost _kv;

    private protected DifferentialTestsBase(ReferenceMemcached memcached, global::NetStack.IOKernel.Nic.NicBackend backend)
    {
        _memcached = memcached;
        // The reference runs with -m 64, the default -I 1m and -t 1.
        _kv = new KvHost(new KvOptions { MemoryLimitMegabytes = 64, ItemSizeMaxBytes = 1 << 20, Threads = 1 }, backend: backend);
    }

    public void Dispose() => _kv.Dispose();

    public static TheoryData<string> TextCases => new(DiffCases.Text.Select(c => c.Name));

    public static TheoryData<string> BinaryCases => new(DiffCases.Binary.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(TextCases))]
    public void TextRepliesMatchMemcached(string name) => Compare(DiffCases.Text.Single(c => c.Name == name));

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void BinaryRepliesMatchMemcached(string name) => Compare(DiffCases.Binary.Single(c => c.Name == name));

    [Theory]
    [MemberData(nameof(TextCases))]
    public void TextRepliesMatchMemcachedWhenEveryStepIsSplitAcrossWrites(string name) =>
        Compare(DiffCases.Split(DiffCases.Text.Single(c => c.Name == name)));

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void BinaryRepliesMatchMemcachedWhenEveryStepIsSplitAcrossWrites(string name) =>
        Compare(DiffCases.Split(DiffCases.Binary.Single(c => c.Name == name)));

    private void Compare(DiffCase c)
    {
        // A clean slate on the reference, which outlives each test: drop items and any pending
        // delayed flush, zero the counters. kv is fresh for every test.
        var reset = new DiffCase("reset", false, [new DiffStep(_ => Encoding.ASCII.GetBytes("flush_all\r\nstats reset\r\n"))]);
        DiffRunner.Run(_memcached.Host, _memcached.Port, reset);
        DiffRunner.Run("127.0.0.1", _kv.Port, reset);

        DiffOutcome expected = DiffRunner.Run(_memcached.Host, _memcached.Port, c);
        DiffOutcome actual = DiffRunner.Run("127.0.0.1", _kv.Port, c);
        Assert.True(_kv.Errors.Count == 0, $"{c.Name}: the kv server threw: {string.Join("\n", _kv.Errors)}");
        for (int i = 0; i < expected.Replies.Length; i++)
        {
            Assert.True(i < actual.Replies.Length, $"{c.Name}: kv stopped after step {actual.Replies.Length}, memcached went on");
            if (!Normalizer.Agree(expected.Replies[i], actual.Replies[i]))
            {
                Assert.Fail($"{c.Name}, step {i}: replies differ.\n--- memcached:\n{expected.Replies[i]}\n--- kv:\n{actual.Replies[i]}");
            }
        }
        Assert.Equal(expected.Replies.Length, actual.Replies.Length);
        Assert.Equal(expected.Closed, actual.Closed);
    }
}
