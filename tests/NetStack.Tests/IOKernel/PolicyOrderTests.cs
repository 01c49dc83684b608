// Policies decide order: processor sharing lets a short request overtake a long one; c-FCFS does not.
using NetStack.Apps.Spin;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class PolicyOrderTests
{
    private const long LongNs = 200_000_000; // 200 ms: far beyond any quantum, short enough for a test
    private const long ShortNs = 1_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ShortRequestOvertakesLongOneUnderProcessorSharing(int mailboxDepth)
    {
        var nic = new ScriptedNic((0, LongNs), (0, ShortNs));
        var kernel = new Kernel(TestKernel.Options("ps", 5, mailboxDepth), nic, new SpinApp()) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        var answers = nic.Answers.ToArray();
        Assert.Equal([1L, 0L], answers.Select(a => a.Id));
        Assert.True(answers[1].Preemptions >= 1, "the long request should have been preempted");
        Assert.All(answers, a => Assert.Equal(RequestStatus.Ok, a.Status));
    }

    [Theory]
    [InlineData("cfcfs")]
    [InlineData("dfcfs")]
    public void ShortRequestWaitsBehindLongOneWithoutPreemption(string policy)
    {
        // d-FCFS steers by flow hash; ids 0 and 2 share worker 0 of the single worker anyway.
        var nic = new ScriptedNic((0, LongNs), (0, ShortNs));
        var kernel = new Kernel(TestKernel.Options(policy), nic, new SpinApp()) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        var answers = nic.Answers.ToArray();
        Assert.Equal([0L, 1L], answers.Select(a => a.Id));
        Assert.All(answers, a => Assert.Equal(0, a.Preemptions));
    }

    [Fact]
    public void ProcessorSharingRoundRobinsTwoLongRequests()
    {
        // Two long requests share the worker: both get preempted, so both finish near the end. Long
        // enough (200 ms each) that a busy machine's stall of the IOKernel cannot cover a whole one.
        var nic = new ScriptedNic((0, 200_000_000), (0, 200_000_000));
        var kernel = new Kernel(TestKernel.Options("ps", 5), nic, new SpinApp()) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        var answers = nic.Answers.ToArray();
        Assert.Equal(2, answers.Length);
        Assert.All(answers, a => Assert.True(a.Preemptions >= 1, $"request {a.Id} was never preempted"));
    }
}
