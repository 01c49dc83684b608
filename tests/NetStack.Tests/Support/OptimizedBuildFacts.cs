// Tests that count the data path's allocations: they hold for optimized builds, which is what CI and a service run.
using System.Diagnostics;
using System.Reflection;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.Support;

/// <summary>Whether the assemblies under test were compiled with optimization.</summary>
/// <remarks>An unoptimized (Debug) build compiles every async method's state machine as a class, so each
/// call of an async handler allocates one (88 bytes for <see cref="SpinApp"/>'s), where an optimized
/// build keeps it a struct on the green thread's stack. A Debug build with <c>-p:Optimize=true</c>, its
/// <c>Debug.Assert</c>s still on, passes every allocation test: the asserts allocate nothing.</remarks>
internal static class OptimizedBuild
{
    public const string Reason = "counts allocations, which an unoptimized (Debug) build makes per async handler call " +
        "(its state machines are classes): run in Release, as CI does";

    public static bool Unoptimized { get; } =
        new[] { typeof(SpinApp).Assembly, typeof(Kernel).Assembly, typeof(GreenThread).Assembly, typeof(OptimizedBuild).Assembly }
            .Any(a => a.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true);
}

/// <summary>A <see cref="FactAttribute"/> that is skipped, with the reason, in an unoptimized build.</summary>
public sealed class OptimizedBuildFactAttribute : FactAttribute
{
    public OptimizedBuildFactAttribute()
    {
        if (OptimizedBuild.Unoptimized)
        {
            Skip = OptimizedBuild.Reason;
        }
    }
}

/// <summary>A <see cref="TheoryAttribute"/> that is skipped, with the reason, in an unoptimized build.</summary>
public sealed class OptimizedBuildTheoryAttribute : TheoryAttribute
{
    public OptimizedBuildTheoryAttribute()
    {
        if (OptimizedBuild.Unoptimized)
        {
            Skip = OptimizedBuild.Reason;
        }
    }
}
