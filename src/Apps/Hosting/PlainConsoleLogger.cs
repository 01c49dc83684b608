// serve's log: each message as one plain line on stdout, the way the host has always printed them.
using Microsoft.Extensions.Logging;

namespace NetStack.Apps.Hosting;

/// <summary>
/// Writes every log message that passes the logging filters (appsettings.json: <c>NetStack</c> at
/// Information, the rest at Warning) as one line on stdout, unadorned: <c>netstack: serving ...</c>,
/// <c>netstack: received ...</c>. Scripts read these lines (bench/soak.sh), so they are written at
/// once, in order, on the calling thread, not through the console logger's queue.
/// </summary>
internal sealed class PlainConsoleLoggerProvider : ILoggerProvider
{
    private static readonly PlainLogger s_logger = new();

    public ILogger CreateLogger(string categoryName) => s_logger;

    public void Dispose()
    {
    }

    private sealed class PlainLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string line = formatter(state, exception);
            if (exception is not null && !line.Contains(exception.Message, StringComparison.Ordinal))
            {
                line += $": {exception.Message}";
            }
            Console.Out.WriteLine(line);
        }
    }
}
