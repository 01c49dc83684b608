// --iokernel-core, --worker-cores and --workers: where an in-process run puts its IOKernel and carriers (sched, colocate).
using System.CommandLine;
using System.Globalization;
using NetStack.LoadGen.Cli;
using NetStack.Runtime;

namespace NetStack.LoadGen.Sched;

/// <summary>The core options of the in-process verbs, checked against the cores this process may use.</summary>
internal sealed class InProcessCoreOptions
{
    /// <summary><c>--iokernel-core C</c>.</summary>
    public Option<int> IOKernelCore { get; } = CliOption.Integer("iokernel-core", Affinity.AvailableCores()[0], 0, int.MaxValue,
        "the IOKernel's core; the default is the first core this process may use", "C");

    /// <summary><c>--worker-cores C1,C2,...</c>.</summary>
    public Option<int[]?> WorkerCores { get; } = CliOption.Parsed("worker-cores", "C1,C2,...",
        "the worker cores, one pinned carrier each [default: the first --workers cores after the IOKernel's]", ParseList);

    /// <summary><c>--workers N</c>.</summary>
    public Option<int> Workers { get; } = CliOption.Integer("workers", 1, 1, 1024,
        "worker cores when --worker-cores is not given: the first N cores this process may use after the IOKernel's");

    /// <summary>The three, for a command.</summary>
    public IEnumerable<Option> All => [IOKernelCore, WorkerCores, Workers];

    /// <summary>The IOKernel's core and the worker cores, checked against this machine.</summary>
    public (int IOKernelCore, int[] WorkerCores) Resolve(ParseResult result)
    {
        IReadOnlyList<int> available = Affinity.AvailableCores();
        int ioCore = result.GetValue(IOKernelCore);
        int[] workerCores;
        // An absent array-typed option reads as an empty array, not null; a given one is never empty.
        if (result.GetValue(WorkerCores) is { Length: > 0 } list)
        {
            workerCores = list;
        }
        else
        {
            int workers = result.GetValue(Workers);
            workerCores = available.Where(c => c != ioCore).Take(workers).ToArray();
            if (workerCores.Length < workers)
            {
                throw new UsageException(
                    $"--workers {workers} needs {workers + 1} cores (the IOKernel's and one per worker); this machine has {available.Count}: {Affinity.Describe(available)}");
            }
        }
        try
        {
            Affinity.Validate([ioCore, .. workerCores]);
        }
        catch (CoreNotAvailableException e)
        {
            throw new UsageException(e.Message);
        }
        return (ioCore, workerCores);
    }

    private static int[] ParseList(string text)
    {
        int[] cores = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int c) && c >= 0
                ? c
                : throw new UsageException($"--worker-cores: '{s}' is not a core number"))
            .ToArray();
        return cores.Length > 0 ? cores : throw new UsageException("--worker-cores is empty");
    }
}
