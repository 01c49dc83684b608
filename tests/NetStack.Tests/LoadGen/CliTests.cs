// netstack-loadgen's and the charts tool's command lines: help on every verb names and describes every option; a bad value,
// an unknown option or a stray argument is one line and exit code 2; the lines the scripts and docs run still parse.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class CliTests
{
    public static TheoryData<string> Verbs() => new(NetStack.LoadGen.Program.Root("netstack-loadgen").Subcommands.Select(c => c.Name));

    [Fact]
    public void EveryVerbIsOnTheRootCommand()
    {
        Assert.Equal(["demo", "sched", "udp", "tcp", "kv", "echo", "colocate", "noise", "model", "soak"],
            NetStack.LoadGen.Program.Root("netstack-loadgen").Subcommands.Select(c => c.Name));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void HelpOfEveryVerbSucceedsAndNamesAndDescribesEveryOption(string verb)
    {
        (int code, string output, string error) = UdpCommandTests.RunMain(verb, "--help");

        Assert.True(code == 0, error);
        Assert.Equal("", error);
        Command command = NetStack.LoadGen.Program.Root("netstack-loadgen").Subcommands.Single(c => c.Name == verb);
        Assert.False(string.IsNullOrWhiteSpace(command.Description));
        Assert.Contains($" {verb} [options]", output);
        foreach (Option option in command.Options.Where(o => o is not System.CommandLine.Help.HelpOption))
        {
            Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{verb} {option.Name} has no description");
            Assert.Contains(option.Name, output);
        }
    }

    [Fact]
    public void HelpVerbIsTheVerbsHelp()
    {
        (int code, string output, _) = UdpCommandTests.RunMain("help", "sched");

        Assert.Equal(0, code);
        Assert.Contains("--policy", output);
        Assert.Contains("cfcfs", output);
    }

    [Fact]
    public void HelpOfTheProgramListsEveryVerb()
    {
        (int code, string output, _) = UdpCommandTests.RunMain("--help");

        Assert.Equal(0, code);
        Assert.All(NetStack.LoadGen.Program.Root("x").Subcommands, c => Assert.Contains(c.Name, output));
    }

    [Theory]
    [InlineData(new[] { "demo", "--quick", "now" }, "demo: unexpected argument 'now'")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--policy", "foo" }, "sched: unknown policy 'foo'; valid: cfcfs, ps, dfcfs")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--loads", "0.5,fast" }, "--loads takes a comma list of numbers from 0.001 to 10 or 'max', not 'fast'")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--duration-s" }, "sched: --duration-s needs a value")]
    [InlineData(new[] { "sched", "--policy", "ps" }, "sched: --workload is required")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--workers", "0" }, "udp: --workers must be an integer from 1")]
    [InlineData(new[] { "tcp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--connections", "0" }, "tcp: --connections must be an integer from 1")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--protocol", "ascii" }, "kv: unknown protocol 'ascii'; valid: text, binary")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "nope", "--rates", "10" }, "kv: unknown workload 'nope'; valid: usr, etc")]
    [InlineData(new[] { "echo", "--port", "70000" }, "echo: --port must be an integer from 0 to 65535, not '70000'")]
    [InlineData(new[] { "colocate", "--allocation", "greedy" }, "colocate: unknown allocation 'greedy'; valid: standing-queue, queue-delay, static, alone")]
    [InlineData(new[] { "noise", "--duration-s", "0" }, "noise: --duration-s must be a number from 0.1 to 600, not '0'")]
    [InlineData(new[] { "model", "--workload", "exp-10", "--policy", "lifo" }, "model: unknown policy 'lifo'; valid: cfcfs, ps, dfcfs")]
    [InlineData(new[] { "soak", "--spin", "nowhere", "--kv", "127.0.0.1:1" }, "soak: --spin must be HOST:PORT")]
    [InlineData(new[] { "teleport" }, "unknown verb 'teleport'; valid: demo, sched, udp, tcp, kv, echo, colocate, noise, model, soak")]
    public void BadValueIsOneLineNamingTheValidChoicesAndExitCodeTwo(string[] args, string expected)
    {
        (int code, string output, string error) = UdpCommandTests.RunMain(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(expected, error);
        Assert.StartsWith("netstack-loadgen: ", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AnOptionGivenTwiceTakesItsLastValueAsScriptsAppendingAnOverrideExpect()
    {
        Command sched = NetStack.LoadGen.Program.Root("x").Subcommands.Single(c => c.Name == "sched");
        string[] args = VerbParser.LastWins(sched, ["--seed", "1", "--workload", "exp-10", "--no-charts", "--seed=2", "--no-charts", "--loads", "0.2", "--loads", "0.3"]);

        Assert.Equal(["--workload", "exp-10", "--seed=2", "--no-charts", "--loads", "0.3"], args);
        ParseResult result = VerbParser.Parse(sched, ["--workload", "exp-10", "--seed", "1", "--seed", "2"]);
        Assert.Equal(2, result.GetValue<int>("--seed"));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void UnknownOptionIsAnErrorNamingTheVerbsOptions(string verb)
    {
        (int code, string output, string error) = UdpCommandTests.RunMain(verb, "--bogus", "1");

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains($"{verb}: unknown option --bogus; valid: ", error);
        Command command = NetStack.LoadGen.Program.Root("x").Subcommands.Single(c => c.Name == verb);
        Assert.All(command.Options.Where(o => !o.Hidden), o => Assert.Contains(o.Name, error));
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    // Command lines of bench/*.sh, docs/*.md and the README, with their shell variables filled in.
    [Theory]
    [InlineData("demo")]
    [InlineData("demo --quick --out DIR --no-charts")]
    [InlineData("noise --cores 0 --duration-s 5")]
    [InlineData("sched --workload zero --policy cfcfs --loads max --mailbox-depth 2 --duration-s 3 --no-charts --metrics prometheus --out DIR")]
    [InlineData("sched --workload extreme-bimodal --policy cfcfs,ps,dfcfs --loads 0.1,0.5,0.9 --duration-s 3 --model --slo short:p99.9-slowdown<=50,short:p99-slowdown<=50 --out DIR")]
    [InlineData("sched --workload=exp-10 --policy=cfcfs --workers 1 --loads 0.1,0.8 --duration-s 5 --slo p99-latency<=100 --model --dispatch-ns 200 --preempt-ns 150")]
    [InlineData("udp --target netstack/ps=127.0.0.1:9000,threadpool=127.0.0.1:9001 --workload exp-10 --loads 0.05,0.1 --workers 1 --duration-s 2 --receiver inline --cores 0 --behind-p99-us 50 --slo p99-latency<=1000 --out DIR")]
    [InlineData("udp --target echo=127.0.0.1:9100 --workload zero --rates 50000,100000 --duration-s 2 --receiver inline --cores 0 --no-charts --out DIR")]
    [InlineData("tcp --target a=127.0.0.1:9000 --workload zero --payload-bytes 24 --rates 50000 --receiver inline --cores 0 --slo p99-latency<=1000 --no-charts --connections 16 --out DIR")]
    [InlineData("kv --target netstack/ps=127.0.0.1:1,memcached-t1=127.0.0.1:2 --workload usr --keys 2000 --long-fraction 0.005 --long-keys 100 --capacity-rps 12345.6 --loads 0.5,0.7 --receiver inline --cores 0 --connections 16 --duration-s 2 --behind-p99-us 50 --no-load --protocol binary --slo get:p99-latency<=200 --out DIR")]
    [InlineData("kv --target netstack/ps=inprocess --workload etc --keys 2000 --rates 5000,5000 --no-charts --out DIR")]
    [InlineData("echo --port 9100 --core 1 --duration-s 40")]
    [InlineData("colocate --workload exp-10 --lc-load 0.5 --lc-low 0.1 --pattern bursts --burst-ms 50 --policy cfcfs --allocation standing-queue,alone --duration-s 6 --rounds 3 --release-idle-us 5 --out DIR")]
    [InlineData("model --workload extreme-bimodal --policy cfcfs,ps,dfcfs --workers 16,64 --loads 0.05,0.9 --dispatch-ns 0 --slo short:p99.9-slowdown<=50 --out DIR")]
    [InlineData("soak --spin 127.0.0.1:1 --kv 127.0.0.1:2 --kv-udp 127.0.0.1:3 --duration-s 120")]
    public void CommandLinesTheScriptsAndDocsRunStillParse(string line)
    {
        ParseResult result = NetStack.LoadGen.Program.Root("x").Parse(line.Split(' '), VerbParser.Configuration);

        Assert.Null(VerbParser.FirstError(result));
    }

    [Fact]
    public void ChartsHelpSucceedsAndDescribesItsArgument()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int code = NetStack.Charts.Program.Run(["--help"], output, error);

        Assert.Equal(0, code);
        Assert.Equal("", error.ToString());
        Assert.Contains("DIR", output.ToString());
        Assert.Contains("report.json", output.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("--bogus")]
    [InlineData("a b")]
    public void ChartsBadCommandLineIsOneLineAndExitCodeTwo(string line)
    {
        var error = new StringWriter();

        int code = NetStack.Charts.Program.Run(line.Split(' ', StringSplitOptions.RemoveEmptyEntries), new StringWriter(), error);

        Assert.Equal(NetStack.Charts.Program.UsageError, code);
        Assert.Contains("usage: NetStack.Charts DIR", error.ToString());
        Assert.Equal(line.StartsWith('-'), error.ToString().StartsWith($"charts: unknown option {line}; ", StringComparison.Ordinal));
        Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
