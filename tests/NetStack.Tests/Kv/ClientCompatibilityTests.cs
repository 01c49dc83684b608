// Real memcached clients against kv: libmemcached's memccapable conformance suite, and pymemcache.
using Xunit;

namespace NetStack.Tests.Kv;

public class ClientCompatibilityTests
{
    private static string Tool(string name, string package) =>
        ExternalTool.Find(name) ?? throw new InvalidOperationException($"This test needs {name}: install Debian's {package} package.");

    [Fact]
    public void MemccapablePassesEveryAsciiAndBinaryTest()
    {
        string memccapable = Tool("memccapable", "libmemcached-tools");
        using var server = new KvHost();

        // -t 10: memccapable's own per-operation timeout, so a hung test fails instead of waiting.
        ExternalTool.Result result = ExternalTool.Run(memccapable, $"-h 127.0.0.1 -p {server.Port} -t 10", TimeSpan.FromSeconds(120));

        string output = result.Stdout + result.Stderr;
        Assert.False(result.TimedOut, "memccapable did not finish within 120 s:\n" + output);
        Assert.True(result.ExitCode == 0, $"memccapable exited {result.ExitCode}:\n{output}");
        Assert.Contains("All tests passed", output);
        string[] passed = output.Split('\n').Where(line => line.TrimEnd().EndsWith("[pass]")).ToArray();
        Assert.True(passed.Count(l => l.StartsWith("ascii ")) >= 25, output);
        Assert.True(passed.Count(l => l.StartsWith("binary ")) >= 25, output);
        Assert.DoesNotContain("[fail]", output);
    }

    [Fact]
    public void PymemcacheRoundTripsSetGetCasIncrDelete()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            throw new InvalidOperationException("This test needs Debian's python3 with python3-pymemcache installed.");
        }
        using var server = new KvHost();
        string dir = Directory.CreateTempSubdirectory("kv-pymemcache-").FullName;
        try
        {
            string script = Path.Combine(dir, "roundtrip.py");
            File.WriteAllText(script, """
                import sys
                from pymemcache.client.base import Client
                c = Client(("127.0.0.1", int(sys.argv[1])), connect_timeout=5, timeout=5, default_noreply=False)
                assert c.set("greeting", b"hello", expire=0) is True
                assert c.get("greeting") == b"hello"
                value, cas = c.gets("greeting")
                assert value == b"hello" and cas is not None
                assert c.cas("greeting", b"world", cas) is True
                assert c.cas("greeting", b"stale", cas) is False
                assert c.get("greeting") == b"world"
                assert c.set("counter", b"41") is True
                assert c.incr("counter", 1) == 42
                assert c.decr("counter", 50) == 0
                assert c.incr("missing", 1) is None
                assert c.add("greeting", b"x") is False
                assert c.append("greeting", b"!") is True
                assert c.get("greeting") == b"world!"
                many = {"k%d" % i: b"v%d" % i for i in range(100)}
                assert c.set_many(many) == []
                got = c.get_many(list(many.keys()) + ["nope"])
                assert got == many, got
                assert c.delete("greeting") is True
                assert c.delete("greeting", noreply=False) is False
                assert c.get("greeting") is None
                assert c.touch("counter", 100) is True
                stats = c.stats()
                assert int(stats[b"curr_items"]) >= 101, stats
                assert c.version().startswith(b"1.6")
                print("pymemcache ok")
                """);
            ExternalTool.Result result = ExternalTool.Run(python, $"{script} {server.Port}", TimeSpan.FromSeconds(60));
            string output = result.Stdout + result.Stderr;
            Assert.False(result.TimedOut, "the pymemcache script did not finish within 60 s:\n" + output);
            Assert.True(result.ExitCode == 0, $"the pymemcache script failed ({result.ExitCode}):\n{output}");
            Assert.Contains("pymemcache ok", result.Stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
