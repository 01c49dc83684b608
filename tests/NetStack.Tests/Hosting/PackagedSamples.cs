// The four libraries packed into a temporary folder feed, once per test run, and the samples built against it outside the repository.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Xunit;

namespace NetStack.Tests.Hosting;

/// <summary>
/// Packs NetStack.Runtime, .IOKernel, .Measurement and .Hosting from the build the tests run on
/// (<c>dotnet pack --no-build</c>) into a folder feed, with a version of their own for this run,
/// so the global packages folder can never hand a sample a stale NetStack package of the same
/// version. <see cref="Build"/> copies a sample out of the repository, beside a nuget.config that
/// names that feed, and builds it as a user would. Disposing removes the feed, the copies and this
/// run's versions from the global packages folder.
/// </summary>
public sealed class PackagedSamples : IDisposable
{
    private static readonly string[] s_packages = ["NetStack.Runtime", "NetStack.IOKernel", "NetStack.Measurement", "NetStack.Hosting"];

    private readonly string _configuration;

    public PackagedSamples()
    {
        Repository = FindRepository();
        // bin/<Configuration>/net10.0: pack what this very build made.
        _configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        Version = $"0.1.0-test.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Environment.ProcessId}";
        Root = Directory.CreateTempSubdirectory("netstack-samples-").FullName;
        Feed = Path.Combine(Root, "feed");
        string filter = Path.Combine(Root, "packages.slnf");
        File.WriteAllText(filter, JsonSerializer.Serialize(new
        {
            solution = new
            {
                path = Path.Combine(Repository, "NetStack.sln"),
                projects = s_packages.Select(p => $"src/{p["NetStack.".Length..]}/{p}.csproj").ToArray(),
            },
        }));
        DotNet.Run(Root, TimeSpan.FromMinutes(3), "pack", filter, "-c", _configuration, "--no-build", $"-p:Version={Version}", "-o", Feed);
        File.WriteAllText(Path.Combine(Root, "nuget.config"),
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="netstack-test-feed" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>The repository the tests run from.</summary>
    public string Repository { get; }

    /// <summary>This run's version of the packages.</summary>
    public string Version { get; }

    /// <summary>The temporary directory: the feed, the nuget.config, the copied samples.</summary>
    public string Root { get; }

    /// <summary>The folder feed the packages are in.</summary>
    public string Feed { get; }

    /// <summary>Copies samples/<paramref name="sample"/> beside the feed's nuget.config and builds it in Release;
    /// returns the built assembly's path.</summary>
    public string Build(string sample)
    {
        string source = Path.Combine(Repository, "samples", sample);
        string project = Path.Combine(Root, sample);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(project, relative))!);
            File.Copy(file, Path.Combine(project, relative));
        }
        DotNet.Run(project, TimeSpan.FromMinutes(3), "build", "-c", "Release", $"-p:NetStackVersion={Version}");
        return Path.Combine(project, "bin", "Release", "net10.0", $"{sample}.dll");
    }

    /// <summary>What restore resolved NetStack.Hosting to in <paramref name="sample"/>'s copy: "package" or "project".</summary>
    public string HostingReferenceKind(string sample)
    {
        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, sample, "obj", "project.assets.json")));
        return assets.RootElement.GetProperty("libraries").GetProperty($"NetStack.Hosting/{Version}").GetProperty("type").GetString()!;
    }

    public void Dispose()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string package in s_packages)
        {
            string cached = Path.Combine(packages, package.ToLowerInvariant(), Version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
        Directory.Delete(Root, recursive: true);
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NetStack.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no NetStack.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>Runs the <c>dotnet</c> CLI as a child process, as a user's shell would.</summary>
internal static class DotNet
{
    /// <summary>Runs <c>dotnet ARGS</c> in <paramref name="directory"/>; fails the test with its output unless it exits 0 in time.</summary>
    public static string Run(string directory, TimeSpan timeout, params string[] args)
    {
        ProcessStartInfo info = StartInfo(directory, [.. args, "-nodeReuse:false"]);
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"dotnet {string.Join(' ', args)} did not finish in {timeout}:\n{output}");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        }
        return output.ToString();
    }

    /// <summary>
    /// The child's environment: this one without what the test host's own MSBuild run left in it
    /// (SDK and MSBuild paths), so the child finds its SDK as from a shell; no build servers that
    /// would outlive the test.
    /// </summary>
    public static ProcessStartInfo StartInfo(string directory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
        {
            info.Environment.Remove(name);
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        return info;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
