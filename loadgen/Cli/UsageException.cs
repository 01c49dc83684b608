// A command line that cannot run: the message is the whole story, one line, exit code 2.
namespace NetStack.LoadGen.Cli;

/// <summary>A command line that cannot run; the message is the whole story (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);
