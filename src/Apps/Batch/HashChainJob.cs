// batch: a CPU-bound best-effort app: extends a SHA-256 hash chain one 1 KiB block at a time.
using System.Security.Cryptography;
using NetStack.Runtime.Scheduling;

namespace NetStack.Apps.Batch;

/// <summary>
/// A batch job that does real, checkable work in small units: each unit hashes a 1 KiB block
/// (the previous digest repeated) with SHA-256, about a microsecond on current cores, and checks
/// the yield signal after each, so a latency-critical app waits at most one unit for the core.
/// Each worker extends its own chain; <see cref="Digest"/> makes the result checkable, and
/// <see cref="BatchContext.Units"/> counts KiB hashed for throughput reports.
/// </summary>
internal sealed class HashChainJob : IBatchJob
{
    private const int BlockBytes = 1024;
    private readonly byte[][] _blocks;
    private readonly byte[][] _digests;

    /// <param name="maxWorkers">Workers that may run it (one chain each).</param>
    public HashChainJob(int maxWorkers = 64)
    {
        _blocks = new byte[maxWorkers][];
        _digests = new byte[maxWorkers][];
        for (int w = 0; w < maxWorkers; w++)
        {
            _blocks[w] = new byte[BlockBytes];
            _digests[w] = new byte[SHA256.HashSizeInBytes];
            _digests[w][0] = (byte)w;
        }
        // The first hash loads the crypto library (milliseconds): do it now, not while a
        // latency-critical app waits for this job to yield its core.
        SHA256.HashData(_blocks[0], new byte[SHA256.HashSizeInBytes]);
    }

    /// <inheritdoc />
    public string Name => "hash-chain";

    /// <inheritdoc />
    public string UnitName => "KiB hashed";

    /// <summary>The head of worker <paramref name="worker"/>'s chain, as hex.</summary>
    public string Digest(int worker) => Convert.ToHexString(_digests[worker]);

    /// <inheritdoc />
    public void Run(BatchContext context)
    {
        byte[] block = _blocks[context.WorkerIndex];
        byte[] digest = _digests[context.WorkerIndex];
        while (!context.ShouldYield)
        {
            for (int i = 0; i < BlockBytes; i += SHA256.HashSizeInBytes)
            {
                digest.CopyTo(block, i);
            }
            SHA256.HashData(block, digest);
            context.Completed(1);
        }
    }
}
