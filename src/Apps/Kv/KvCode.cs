// kv's code compiled before the first request: a method first reached by a request is compiled on the carrier that runs it.
using System.Reflection;
using System.Runtime.CompilerServices;

namespace NetStack.Apps.Kv;

/// <summary>
/// Compiles every method of kv (its engine, protocols, store and handler, their state machines)
/// ahead of the first request. Without it, the first request to reach a path (the first multiget,
/// the first <c>stats</c>, the first SET of a new size) waits on the carrier while the JIT compiles
/// it, and the core is taken from the app for milliseconds: the watchdog logged 10–28 ms slices for
/// a set, a get and a stats request in each bench/kv.sh run. Tiered compilation still re-compiles
/// hot methods later, on its own background thread.
/// </summary>
internal static class KvCode
{
    private static int s_prepared;

    /// <summary>Compiles kv's methods once per process (later calls return at once). Returns how many.</summary>
    public static int Prepare()
    {
        if (Interlocked.Exchange(ref s_prepared, 1) == 1)
        {
            return 0;
        }
        int prepared = 0;
        const BindingFlags all = BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        foreach (Type type in typeof(KvEngine).Assembly.GetTypes())
        {
            if (type.Namespace is null || !type.Namespace.StartsWith("NetStack.Apps.Kv", StringComparison.Ordinal) || type.ContainsGenericParameters)
            {
                continue;
            }
            foreach (MethodBase method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method.IsAbstract || method.ContainsGenericParameters || (method.MethodImplementationFlags & MethodImplAttributes.InternalCall) != 0)
                {
                    continue;
                }
                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                    prepared++;
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or TypeLoadException or BadImageFormatException)
                {
                    // A method the runtime cannot compile ahead (an unusual signature): it compiles on first use, as before.
                }
            }
        }
        return prepared;
    }
}
