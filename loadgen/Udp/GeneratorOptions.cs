// The open-loop generator's options, shared by udp, tcp and kv: how answers are read and when a point measures the generator.
using System.CommandLine;
using NetStack.LoadGen.Cli;

namespace NetStack.LoadGen.Udp;

/// <summary><c>--receiver</c>, <c>--behind-p99-us</c>, <c>--max-grace-s</c>, <c>--spin-below-us</c>, <c>--busy-yield-us</c> (docs/loadgen.md explains each).</summary>
internal sealed class GeneratorOptions
{
    private static readonly GeneratorLimits s_defaults = new();

    /// <summary><c>--receiver thread|inline</c>.</summary>
    public Option<string> Receiver { get; } = CliOption.Name("receiver", "thread", ["thread", "inline"], "receiver",
        "thread: a receiver thread of its own; inline: the one sender also reads answers while it waits (one core for the whole generator)");

    /// <summary><c>--behind-p99-us X</c>.</summary>
    public Option<double> BehindP99Us { get; } = CliOption.Number("behind-p99-us", s_defaults.BehindP99Micros, 0.1, 1e6,
        "a point whose send lateness p99 exceeds this (or that sent under 95 % of its schedule) is flagged: the generator fell behind", "US");

    /// <summary><c>--max-grace-s S</c>.</summary>
    public Option<double> MaxGraceS { get; } = CliOption.Number("max-grace-s", s_defaults.MaxGraceSeconds, 0.2, 60,
        "the longest wait for answers after a point's last send; an answer not in by then is lost", "S");

    /// <summary><c>--spin-below-us X</c>.</summary>
    public Option<double> SpinBelowUs { get; } = CliOption.Number("spin-below-us", s_defaults.SpinBelowMicros, 0, 1e6,
        "a sender spins for the last X µs before a send and yields its core before that (0: always yields, so it can share a core with a server)", "US");

    /// <summary><c>--busy-yield-us X</c>.</summary>
    public Option<double> BusyYieldUs { get; } = CliOption.Number("busy-yield-us", s_defaults.BusyYieldMicros, 0, 1e6,
        "a sender offers its core at least every X µs, even when behind or busy reading answers, so a server sharing its core waits at most that long, not the OS's tick (0: only its waits yield)", "US");

    /// <summary>The five, for a command.</summary>
    public IEnumerable<Option> All => [Receiver, BehindP99Us, MaxGraceS, SpinBelowUs, BusyYieldUs];

    /// <summary>True for <c>--receiver inline</c>.</summary>
    public bool Inline(ParseResult result) => result.GetValue(Receiver) == "inline";

    /// <summary>The limits the line gives.</summary>
    public GeneratorLimits Limits(ParseResult result) => new()
    {
        BehindP99Micros = result.GetValue(BehindP99Us),
        MaxGraceSeconds = result.GetValue(MaxGraceS),
        SpinBelowMicros = result.GetValue(SpinBelowUs),
        BusyYieldMicros = result.GetValue(BusyYieldUs),
    };
}
