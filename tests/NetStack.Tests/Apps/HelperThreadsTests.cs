// The netstack executable keeps its own threads other than the IOKernel and the carriers off the worker cores.
using System.Diagnostics;
using NetStack.Tests.Hosting;
using Xunit;

namespace NetStack.Tests.Apps;

/// <summary>
/// Runs the built executable as a child process (moving threads is process-wide, so not in the test
/// host) and reads each of its threads' allowed cores from /proc. Needs cores 0 and 1 (the defaults:
/// IOKernel on 0, one worker on 1), as every kernel test here does.
/// </summary>
public class HelperThreadsTests
{
    [Fact]
    public void EveryThreadButTheCarriersIsOffTheWorkerCore()
    {
        (string start, Dictionary<int, (string Name, string Cores)> threads) = Threads();
        Assert.Contains("the process's other threads on cores 0", start);
        Assert.Contains(threads.Values, t => t.Name.StartsWith("netstack-carrie", StringComparison.Ordinal));
        Assert.Contains(threads.Values, t => t.Name.StartsWith(".NET TP", StringComparison.Ordinal) || t.Name.StartsWith(".NET Timer", StringComparison.Ordinal)
            || t.Name.StartsWith(".NET Finalizer", StringComparison.Ordinal));
        foreach ((int tid, (string name, string cores)) in threads)
        {
            string expected = name.StartsWith("netstack-carrie", StringComparison.Ordinal) ? "1" : "0";
            Assert.True(cores == expected, $"thread {tid} ({name}) may run on cores {cores}, expected {expected}");
        }
    }

    [Fact]
    public void TheSettingTurnsItOff()
    {
        (string start, Dictionary<int, (string Name, string Cores)> threads) = Threads("--NetStack:HelperThreadsOffWorkers", "false");
        Assert.DoesNotContain("other threads on cores", start);
        Assert.Contains(threads.Values, t => !t.Name.StartsWith("netstack-", StringComparison.Ordinal) && t.Cores != "0");
    }

    /// <summary>Starts <c>netstack serve --apps kv</c> on a free port, waits for its start line,
    /// reads every thread's name and Cpus_allowed_list, and kills it.</summary>
    private static (string Start, Dictionary<int, (string Name, string Cores)> Threads) Threads(params string[] extra)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "netstack.dll");
        ProcessStartInfo info = DotNet.StartInfo(AppContext.BaseDirectory,
            [dll, "serve", "--apps", "kv", "--kv-port", "0", "--allocation", "static", "--batch", "false", .. extra]);
        using var process = Process.Start(info)!;
        try
        {
            var output = new System.Text.StringBuilder();
            string? start = null;
            using var started = new ManualResetEventSlim();
            process.OutputDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                    if (start is null && e.Data?.Contains("netstack: serving", StringComparison.Ordinal) == true)
                    {
                        start = e.Data;
                        started.Set();
                    }
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool up = started.Wait(TimeSpan.FromSeconds(60));
            lock (output)
            {
                Assert.True(up, "no start line within 60 s: " + output);
            }
            var threads = new Dictionary<int, (string, string)>();
            foreach (string task in Directory.EnumerateDirectories($"/proc/{process.Id}/task"))
            {
                try
                {
                    string name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                    string cores = File.ReadLines(Path.Combine(task, "status"))
                        .First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim();
                    threads[int.Parse(Path.GetFileName(task))] = (name, cores);
                }
                catch (IOException)
                {
                    // the thread ended between the listing and the read
                }
            }
            return (start!, threads);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }
}
