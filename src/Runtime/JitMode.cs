// How this process's JIT compiles: NetStack's figures differ by it (docs/results.md §1l–§1n).
namespace NetStack.Runtime;

/// <summary>The JIT mode of this process, as reports and the host's start line name it.</summary>
internal static class JitMode
{
    /// <summary>"full" (every method fully optimized at its first call, tiered compilation off, as NetStack's
    /// executables run), "tiered, Dynamic PGO" or "tiered, no PGO".</summary>
    public static string Current { get; } = Describe(
        Variable("TieredCompilation"), AppContext.GetData("System.Runtime.TieredCompilation"),
        Variable("TieredPGO"), AppContext.GetData("System.Runtime.TieredPGO"));

    /// <summary>The mode from the runtime's knobs: an environment variable (DOTNET_ or COMPlus_, which
    /// overrides the runtime configuration), else the runtimeconfig.json property, else the runtime's default
    /// (tiered, with Dynamic PGO).</summary>
    internal static string Describe(string? tieredVariable, object? tieredProperty, string? pgoVariable, object? pgoProperty)
    {
        if (!IsOn(tieredVariable, tieredProperty))
        {
            return "full";
        }
        return IsOn(pgoVariable, pgoProperty) ? "tiered, Dynamic PGO" : "tiered, no PGO";

        static bool IsOn(string? variable, object? property) =>
            variable is { } v ? v.Trim() != "0"
            : property is null || !string.Equals(property.ToString(), "false", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The runtime knob <paramref name="name"/> as the environment sets it (DOTNET_ or COMPlus_), or null.</summary>
    internal static string? Variable(string name) =>
        Environment.GetEnvironmentVariable("DOTNET_" + name) ?? Environment.GetEnvironmentVariable("COMPlus_" + name);
}
