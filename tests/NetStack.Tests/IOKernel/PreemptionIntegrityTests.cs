// Under the real IOKernel, preempted requests resume with their state intact and finish correctly.
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class PreemptionIntegrityTests
{
    [Fact]
    public void RequestsPreemptedByTheKernelFinishWithCorrectResults()
    {
        const int Steps = 20_000; // ~20 spin-waits per step: well past a 1 µs quantum
        var handler = new FibonacciHandler(Steps);
        var nic = new ScriptedNic(Enumerable.Range(0, 8).Select(_ => (0, 0L)).ToArray());
        var kernel = new Kernel(TestKernel.Options("ps", 1), nic, handler) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        var answers = nic.Answers.ToArray();
        Assert.Equal(8, answers.Length);
        Assert.True(answers.Sum(a => a.Preemptions) > 0, "some request should have been preempted");
        for (long id = 0; id < 8; id++)
        {
            Assert.Equal(FibonacciHandler.Expected(Steps), handler.Results[id]);
        }
    }
}
