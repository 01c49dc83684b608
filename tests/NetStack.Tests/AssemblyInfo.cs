// Test-run settings: scheduler tests pin threads to cores and capture the console, so they run one at a time.

// The kernel class shares its name with its namespace; one alias keeps test code readable.
global using Kernel = global::NetStack.IOKernel.Kernel;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
