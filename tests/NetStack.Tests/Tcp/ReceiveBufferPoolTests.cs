// The receive pool at its bound: memory freed in one size class serves a request of another.
using NetStack.IOKernel.Nic;
using Xunit;

namespace NetStack.Tests.Tcp;

public unsafe class ReceiveBufferPoolTests
{
    private const int K16 = 16 << 10;

    [Fact]
    public void ALargerBlockIsMadeFromSmallerFreeBlocksOnceTheBoundIsReached()
    {
        // An overload of small requests fills the bound with 16 KiB blocks; once they are answered,
        // a 32 KiB request must still get a block (it waited forever before: the io_uring TCP loader hang).
        using var pool = new ReceiveBufferPool(K16, 4 * K16, 4 * K16);
        int[] small = [pool.TryRent(K16), pool.TryRent(K16), pool.TryRent(K16), pool.TryRent(K16)];
        Assert.DoesNotContain(-1, small);
        Assert.Equal(4 * K16, pool.AllocatedBytes);
        Assert.Equal(-1, pool.TryRent(2 * K16)); // all held: backpressure, nothing freed
        foreach (int b in small)
        {
            pool.Release(b);
        }
        int large = pool.TryRent(2 * K16);
        Assert.NotEqual(-1, large);
        Assert.Equal(2 * K16, pool.Size(large));
        Assert.Equal(2, pool.ReclaimedBlocks);
        Assert.Equal(4 * K16, pool.AllocatedBytes);
        new Span<byte>(pool.Pointer(large), 2 * K16).Fill(0xAB); // the new block is really that long

        // The two 16 KiB blocks left are still there, and a 64 KiB block cannot be had while the 32 KiB one is held.
        Assert.Equal(-1, pool.TryRent(4 * K16));
        int a = pool.TryRent(K16), b2 = pool.TryRent(K16);
        Assert.NotEqual(-1, a);
        Assert.NotEqual(-1, b2);
        Assert.Equal(2, pool.ReclaimedBlocks);
        Assert.Equal(3, pool.InUseBlocks); // a, b2 and the large one
        Assert.Equal(4 * K16, pool.InUseBytes);
    }

    [Fact]
    public void AReclaimedHandleIsReusedAndEveryBlockStaysDistinct()
    {
        using var pool = new ReceiveBufferPool(K16, 2 * K16, 4 * K16);
        var held = new List<int>();
        for (int i = 0; i < 4; i++)
        {
            held.Add(pool.TryRent(K16));
        }
        foreach (int h in held)
        {
            pool.Release(h);
        }
        int x = pool.TryRent(2 * K16), y = pool.TryRent(2 * K16);
        Assert.NotEqual(-1, x);
        Assert.NotEqual(-1, y);
        Assert.NotEqual(x, y);
        Assert.Equal(4, pool.ReclaimedBlocks);
        Assert.True(pool.Pointer(x) != pool.Pointer(y));
        new Span<byte>(pool.Pointer(x), 2 * K16).Fill(1);
        new Span<byte>(pool.Pointer(y), 2 * K16).Fill(2);
        Assert.Equal(1, pool.Pointer(x)[2 * K16 - 1]);
        pool.Release(x);
        pool.Release(y);
        // And back the other way: 16 KiB blocks from the two free 32 KiB ones.
        for (int i = 0; i < 4; i++)
        {
            Assert.NotEqual(-1, pool.TryRent(K16));
        }
        Assert.Equal(6, pool.ReclaimedBlocks);
        Assert.Equal(4 * K16, pool.AllocatedBytes);
    }
}
