// How this process's JIT compiles: NetStack's figures differ by it (docs/results.md §1l–§1o).
namespace NetStack.Runtime;

/// <summary>The JIT mode of this process, as reports and the host's start line name it.</summary>
internal static class JitMode
{
    /// <summary>"full" (every method fully optimized at its first call, tiered compilation off, as NetStack's
    /// executables run), "tiered, Dynamic PGO" or "tiered, no PGO"; either of the last two without Dynamic PGO
    /// followed by ", static PGO (FILE)" when the runtime reads a recorded profile (bench/pgo-train.sh).</summary>
    public static string Current { get; } = Describe(JitKnobs.OfThisProcess(), ProfileHeaderOf);

    /// <summary>The first line of the text profile the runtime reads (its PgoManager's file header).</summary>
    internal const string ProfileHeader = "*** START PGO Data";

    /// <summary>The mode from the runtime's knobs (<see cref="JitKnobs"/>): an environment variable
    /// overrides the runtime configuration, which overrides the runtime's default (tiered, with Dynamic PGO). The
    /// runtime reads a recorded profile (ReadPGOData, PGODataPath) only when Dynamic PGO is not at work: with
    /// tiering off, or with it on and TieredPGO off.</summary>
    /// <param name="knobs">What the environment and the runtime configuration say.</param>
    /// <param name="firstLineOf">The first line of a file, or null when it cannot be read.</param>
    internal static string Describe(JitKnobs knobs, Func<string, string?> firstLineOf)
    {
        bool tiered = IsOn(knobs.TieredVariable, knobs.TieredProperty);
        bool dynamicPgo = tiered && IsOn(knobs.PgoVariable, knobs.PgoProperty);
        string mode = !tiered ? "full" : dynamicPgo ? "tiered, Dynamic PGO" : "tiered, no PGO";
        if (dynamicPgo || knobs.ReadProfileVariable is not { } read || read.Trim() == "0")
        {
            return mode;
        }
        if (knobs.ProfilePath is not { } profilePath || string.IsNullOrWhiteSpace(profilePath))
        {
            return $"{mode} (a static profile asked for, no PGODataPath)";
        }
        string file = Path.GetFileName(profilePath);
        return firstLineOf(profilePath) is { } line && line.StartsWith(ProfileHeader, StringComparison.Ordinal)
            ? (tiered ? $"tiered, static PGO ({file})" : $"full, static PGO ({file})")
            : $"{mode} (a static profile asked for, none in {file})";

        static bool IsOn(string? variable, object? property) =>
            variable is { } v ? v.Trim() != "0"
            : property is null || !string.Equals(property.ToString(), "false", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The runtime knob <paramref name="name"/> as the environment sets it (DOTNET_ or COMPlus_), or null.</summary>
    internal static string? Variable(string name) =>
        Environment.GetEnvironmentVariable("DOTNET_" + name) ?? Environment.GetEnvironmentVariable("COMPlus_" + name);

    private static string? ProfileHeaderOf(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            return reader.ReadLine();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }
}

/// <summary>The runtime's knobs that decide the JIT mode, each null when it is not set.</summary>
/// <param name="TieredVariable">TieredCompilation from the environment (DOTNET_ or COMPlus_).</param>
/// <param name="TieredProperty">System.Runtime.TieredCompilation from the runtime configuration.</param>
/// <param name="PgoVariable">TieredPGO from the environment.</param>
/// <param name="PgoProperty">System.Runtime.TieredPGO from the runtime configuration.</param>
/// <param name="ReadProfileVariable">ReadPGOData from the environment.</param>
/// <param name="ProfilePath">PGODataPath from the environment.</param>
internal readonly record struct JitKnobs(string? TieredVariable, object? TieredProperty, string? PgoVariable = null,
    object? PgoProperty = null, string? ReadProfileVariable = null, string? ProfilePath = null)
{
    /// <summary>This process's knobs.</summary>
    public static JitKnobs OfThisProcess() => new(
        JitMode.Variable("TieredCompilation"), AppContext.GetData("System.Runtime.TieredCompilation"),
        JitMode.Variable("TieredPGO"), AppContext.GetData("System.Runtime.TieredPGO"),
        JitMode.Variable("ReadPGOData"), JitMode.Variable("PGODataPath"));
}
