// The lookup handler: each 4-byte key of the request answered by its 4-byte value, with a checkpoint after each.
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using NetStack.Runtime.Scheduling;

namespace Lookup;

/// <summary>
/// The request's payload is a list of little-endian 32-bit keys; the reply's is their values in the
/// same order (<see cref="PriceTable.Missing"/> for an absent key). A request of many keys runs
/// long, so the handler offers the IOKernel a preemption point after every key: under processor
/// sharing a short request arriving behind a long one overtakes it instead of waiting.
/// </summary>
internal sealed class LookupHandler(PriceTable table) : IRequestHandler
{
    // The green-thread builder: a request suspended at a checkpoint resumes later without allocating.
    [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
    public async ValueTask HandleAsync(RequestContext ctx)
    {
        int keys = ctx.Request.Length / sizeof(uint);
        for (int i = 0; i < keys; i++)
        {
            // The request's bytes stay in place for the whole request, across preemptions.
            uint key = BinaryPrimitives.ReadUInt32LittleEndian(ctx.Request.Slice(i * sizeof(uint)));
            BinaryPrimitives.WriteUInt32LittleEndian(ctx.Reply.GetSpan(sizeof(uint)), table.Find(key));
            ctx.Reply.Advance(sizeof(uint));
            // Completes at once unless the quantum is up; then the carrier runs another request first.
            await ctx.Checkpoint();
        }
    }
}
