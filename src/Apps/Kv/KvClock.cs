// Time as memcached keeps it (seconds since the server started), behind a seam so tests move it by hand.
namespace NetStack.Apps.Kv;

/// <summary>
/// memcached's clock: <see cref="Now"/> is its <c>current_time</c>, whole seconds relative to
/// <see cref="ProcessStarted"/>, a Unix time set a little before the real start so that relative
/// time never reaches 0 (memcached: <c>process_started = time(0) - ITEM_UPDATE_INTERVAL - 2</c>).
/// Expiry times are stored on this scale; absolute exptimes are converted with <see cref="RealTime"/>.
/// </summary>
internal abstract class KvClock
{
    /// <summary>Seconds the clock starts at: memcached's <c>ITEM_UPDATE_INTERVAL + 2</c>.</summary>
    public const uint StartSeconds = 62;

    /// <summary>Relative exptimes go up to 30 days; larger ones are Unix times (protocol.txt, "Expiration times").</summary>
    public const int MaxRelativeExptime = 60 * 60 * 24 * 30;

    /// <summary>Now, in seconds since <see cref="ProcessStarted"/>.</summary>
    public abstract uint Now { get; }

    /// <summary>The Unix time that relative time 0 stands for.</summary>
    public abstract long ProcessStarted { get; }

    /// <summary>A clock that follows the machine's monotonic clock from the moment it is made.</summary>
    public static KvClock CreateSystem() => new SystemKvClock();

    /// <summary>
    /// memcached's <c>realtime(EXPTIME_TO_POSITIVE_TIME(exptime))</c>: a client exptime to the
    /// relative scale. 0 never expires; up to 30 days is relative to now; beyond is Unix time, and
    /// one at or before the start becomes 1 (already expired); a negative one expires at once
    /// (memcached maps it to 30 days + 1 s, a Unix time long past).
    /// </summary>
    public uint RealTime(int exptime)
    {
        long t = exptime < 0 ? MaxRelativeExptime + 1 : exptime;
        if (t == 0)
        {
            return 0;
        }
        if (t > MaxRelativeExptime)
        {
            long started = ProcessStarted;
            return t <= started ? 1u : (uint)(t - started);
        }
        return (uint)(t + Now);
    }

    /// <summary>The same conversion for an unsigned 32-bit exptime (the binary protocol's, which
    /// memcached passes to <c>realtime</c> as a <c>time_t</c>, so it is never negative).</summary>
    public uint RealTime(uint exptime)
    {
        if (exptime == 0)
        {
            return 0;
        }
        if (exptime > MaxRelativeExptime)
        {
            long started = ProcessStarted;
            return exptime <= started ? 1u : (uint)(exptime - started);
        }
        return exptime + Now;
    }

    private sealed class SystemKvClock : KvClock
    {
        private readonly long _startMillis = Environment.TickCount64;
        private readonly long _processStarted = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - StartSeconds;

        public override uint Now => (uint)((Environment.TickCount64 - _startMillis) / 1000) + StartSeconds;

        public override long ProcessStarted => _processStarted;
    }
}

/// <summary>A clock that moves only when told: expiry tests advance it instead of sleeping.</summary>
internal sealed class ManualKvClock : KvClock
{
    private long _now = StartSeconds;
    private readonly long _processStarted;

    /// <summary>A clock whose start stands for the given Unix time (default: now).</summary>
    public ManualKvClock(long? processStartedUnix = null)
    {
        _processStarted = processStartedUnix ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds() - StartSeconds;
    }

    /// <inheritdoc />
    public override uint Now => (uint)Volatile.Read(ref _now);

    /// <inheritdoc />
    public override long ProcessStarted => _processStarted;

    /// <summary>Moves the clock forward by whole seconds.</summary>
    public void Advance(int seconds) => Interlocked.Add(ref _now, seconds);
}
