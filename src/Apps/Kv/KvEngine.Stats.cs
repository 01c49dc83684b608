// stats, text and binary: memcached's general statistics under its names and in its order, and the sub-commands kv keeps.
using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Text.Unicode;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;
using NetStack.IOKernel.Telemetry.Metrics;

namespace NetStack.Apps.Kv;

internal sealed partial class KvEngine
{
    /// <summary>Where statistics go: "STAT name value" lines then END, or one binary packet each then an empty one.</summary>
    private readonly struct StatSink
    {
        private readonly ReplyWriter _writer;
        private readonly bool _binary;
        private readonly uint _opaque;

        public StatSink(ReplyWriter writer, bool binary, uint opaque)
        {
            _writer = writer;
            _binary = binary;
            _opaque = opaque;
        }

        public void Add(ReadOnlySpan<byte> name, ulong value)
        {
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out int length);
            Add(name, digits[..length]);
        }

        public void Add(ReadOnlySpan<byte> name, long value)
        {
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out int length);
            Add(name, digits[..length]);
        }

        public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            ReplyWriter writer = _writer;
            if (_binary)
            {
                BinaryReplies.WriteStat(ref writer, _opaque, name, value);
                return;
            }
            writer.Write("STAT "u8);
            writer.Write(name);
            writer.Write((byte)' ');
            writer.Write(value);
            writer.WriteCrlf();
        }

        public void End()
        {
            ReplyWriter writer = _writer;
            if (_binary)
            {
                BinaryReplies.WriteStat(ref writer, _opaque, default, default);
            }
            else
            {
                writer.WriteLine(TextReplies.End);
            }
        }
    }

    /// <summary>stats [args] (process_stat).</summary>
    private void TextStats(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        var sink = new StatSink(writer, binary: false, 0);
        if (tokens.Count == 2)
        {
            GeneralStats(in sink);
            sink.End();
            return;
        }
        ReadOnlySpan<byte> sub = tokens[1];
        if (sub.SequenceEqual("reset"u8))
        {
            Counters.ResetStatistics();
            writer.WriteLine(TextReplies.Reset);
        }
        else if (sub.SequenceEqual("detail"u8))
        {
            ReadOnlySpan<byte> arg = tokens.Count < 4 ? default : tokens[2];
            if (arg.SequenceEqual("on"u8) || arg.SequenceEqual("off"u8))
            {
                writer.WriteLine(TextReplies.Ok);
            }
            else if (arg.SequenceEqual("dump"u8))
            {
                // kv keeps no per-prefix statistics: an empty dump, as memcached's with none recorded.
                writer.WriteLine(TextReplies.End);
            }
            else
            {
                writer.WriteLine(TextReplies.StatsDetailUsage);
            }
        }
        else if (!SubStats(sub, in sink))
        {
            writer.WriteLine(TextReplies.Error);
        }
    }

    /// <summary>stat (process_bin_stat): no key for all, or a sub-command as the key.</summary>
    private void BinaryStats(in BinaryHeader h, ReadOnlySpan<byte> key, ref ReplyWriter writer)
    {
        var sink = new StatSink(writer, binary: true, h.Opaque);
        if (key.IsEmpty)
        {
            GeneralStats(in sink);
            sink.End();
        }
        else if (key.StartsWith("reset"u8))
        {
            Counters.ResetStatistics();
            sink.End();
        }
        else if (key.StartsWith("detail"u8))
        {
            ReadOnlySpan<byte> arg = key[6..];
            if (arg.StartsWith(" on"u8) || arg.StartsWith(" off"u8) || arg.StartsWith(" dump"u8))
            {
                sink.End();
            }
            else
            {
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyNotFound);
            }
        }
        else if (!SubStats(key, in sink))
        {
            BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyNotFound);
        }
    }

    /// <summary>The sub-commands kv answers: settings, items, slabs, sizes, and its own latency. False for any other.</summary>
    private bool SubStats(ReadOnlySpan<byte> sub, in StatSink sink)
    {
        if (sub.SequenceEqual("settings"u8))
        {
            SettingsStats(in sink);
        }
        else if (sub.SequenceEqual("latency"u8))
        {
            LatencyStats(in sink);
        }
        else if (sub.SequenceEqual("items"u8) || sub.SequenceEqual("slabs"u8))
        {
            SlabStats(in sink, items: sub[0] == 'i');
        }
        else if (sub.SequenceEqual("sizes"u8))
        {
            sink.Add("sizes_status"u8, "disabled"u8);
        }
        else
        {
            return false;
        }
        sink.End();
        return true;
    }

    /// <summary>
    /// kv's own sub-command (memcached has none like it): for each request type that has run, the
    /// requests counted (<c>STAT latency:get:count 1234</c>) and every non-empty bucket of their
    /// server-side latency in ns, arrival at the IOKernel to the handler's end, as
    /// <c>STAT latency:get:LOWER-UPPER COUNT</c> (LOWER inclusive, UPPER exclusive). Cumulative since
    /// start: a client takes the difference of two reads (docs/kv.md).
    /// </summary>
    private void LatencyStats(in StatSink sink)
    {
        Span<long> counts = stackalloc long[LatencyBuckets.Count];
        Span<byte> name = stackalloc byte[96];
        for (int type = 0; type < KvLatency.Types; type++)
        {
            counts.Clear();
            Latency.AddTo(type, counts);
            long total = 0;
            foreach (long n in counts)
            {
                total += n;
            }
            if (total == 0)
            {
                continue;
            }
            string typeName = KvLatency.TypeName(type);
            Utf8.TryWrite(name, CultureInfo.InvariantCulture, $"latency:{typeName}:count", out int length);
            sink.Add(name[..length], total);
            for (int i = 0; i < counts.Length; i++)
            {
                if (counts[i] != 0)
                {
                    Utf8.TryWrite(name, CultureInfo.InvariantCulture, $"latency:{typeName}:{LatencyBuckets.LowerBoundNs(i)}-{LatencyBuckets.UpperBoundNs(i)}", out length);
                    sink.Add(name[..length], counts[i]);
                }
            }
        }
    }

    /// <summary>The general statistics: memcached 1.6.18's names in its order, so tools that read
    /// them find each; those about machinery kv does not have (libevent, slab rebalancing, the LRU
    /// crawler and maintainer, loggers, response objects) are reported as 0 or none.</summary>
    private void GeneralStats(in StatSink sink)
    {
        uint now = _clock.Now;
        using Process process = Process.GetCurrentProcess();
        sink.Add("pid"u8, (long)Environment.ProcessId);
        sink.Add("uptime"u8, (long)now - 60);
        sink.Add("time"u8, now + _clock.ProcessStarted);
        Span<byte> version = stackalloc byte[64];
        int versionLength = System.Text.Encoding.ASCII.GetBytes(_options.Version.AsSpan(0, Math.Min(_options.Version.Length, 64)), version);
        sink.Add("version"u8, version[..versionLength]);
        sink.Add("libevent"u8, "none"u8);
        sink.Add("pointer_size"u8, 64L);
        AddSeconds(in sink, "rusage_user"u8, process.UserProcessorTime);
        AddSeconds(in sink, "rusage_system"u8, process.PrivilegedProcessorTime);
        sink.Add("max_connections"u8, (long)_options.MaxConnections);
        sink.Add("curr_connections"u8, Host.CurrentConnections);
        sink.Add("total_connections"u8, Host.TotalConnections);
        sink.Add("rejected_connections"u8, 0L);
        sink.Add("connection_structures"u8, Host.CurrentConnections);
        sink.Add("response_obj_oom"u8, 0L);
        sink.Add("response_obj_count"u8, 0L);
        sink.Add("response_obj_bytes"u8, 0L);
        sink.Add("read_buf_count"u8, 0L);
        sink.Add("read_buf_bytes"u8, 0L);
        sink.Add("read_buf_bytes_free"u8, 0L);
        sink.Add("read_buf_oom"u8, 0L);
        sink.Add("reserved_fds"u8, 0L);
        Counter(in sink, "cmd_get"u8, KvCounter.GetCmds);
        Counter(in sink, "cmd_set"u8, KvCounter.SetCmds);
        Counter(in sink, "cmd_flush"u8, KvCounter.FlushCmds);
        Counter(in sink, "cmd_touch"u8, KvCounter.TouchCmds);
        Counter(in sink, "cmd_meta"u8, KvCounter.MetaCmds);
        Counter(in sink, "get_hits"u8, KvCounter.GetHits);
        Counter(in sink, "get_misses"u8, KvCounter.GetMisses);
        Counter(in sink, "get_expired"u8, KvCounter.GetExpired);
        Counter(in sink, "get_flushed"u8, KvCounter.GetFlushed);
        Counter(in sink, "delete_misses"u8, KvCounter.DeleteMisses);
        Counter(in sink, "delete_hits"u8, KvCounter.DeleteHits);
        Counter(in sink, "incr_misses"u8, KvCounter.IncrMisses);
        Counter(in sink, "incr_hits"u8, KvCounter.IncrHits);
        Counter(in sink, "decr_misses"u8, KvCounter.DecrMisses);
        Counter(in sink, "decr_hits"u8, KvCounter.DecrHits);
        Counter(in sink, "cas_misses"u8, KvCounter.CasMisses);
        Counter(in sink, "cas_hits"u8, KvCounter.CasHits);
        Counter(in sink, "cas_badval"u8, KvCounter.CasBadval);
        Counter(in sink, "touch_hits"u8, KvCounter.TouchHits);
        Counter(in sink, "touch_misses"u8, KvCounter.TouchMisses);
        Counter(in sink, "store_too_large"u8, KvCounter.StoreTooLarge);
        Counter(in sink, "store_no_memory"u8, KvCounter.StoreNoMemory);
        sink.Add("auth_cmds"u8, 0L);
        sink.Add("auth_errors"u8, 0L);
        Counter(in sink, "bytes_read"u8, KvCounter.BytesRead);
        Counter(in sink, "bytes_written"u8, KvCounter.BytesWritten);
        sink.Add("limit_maxbytes"u8, _options.MemoryLimitBytes);
        sink.Add("accepting_conns"u8, 1L);
        sink.Add("listen_disabled_num"u8, 0L);
        sink.Add("time_in_listen_disabled_us"u8, 0L);
        sink.Add("threads"u8, (long)_options.Threads);
        sink.Add("conn_yields"u8, 0L);
        sink.Add("hash_power_level"u8, (long)_store.HashPower);
        sink.Add("hash_bytes"u8, _store.HashBytes);
        sink.Add("hash_is_expanding"u8, 0L);
        sink.Add("slab_reassign_rescues"u8, 0L);
        sink.Add("slab_reassign_chunk_rescues"u8, 0L);
        sink.Add("slab_reassign_evictions_nomem"u8, 0L);
        sink.Add("slab_reassign_inline_reclaim"u8, 0L);
        sink.Add("slab_reassign_busy_items"u8, 0L);
        sink.Add("slab_reassign_busy_deletes"u8, 0L);
        sink.Add("slab_reassign_running"u8, 0L);
        sink.Add("slabs_moved"u8, 0L);
        sink.Add("lru_crawler_running"u8, 0L);
        sink.Add("lru_crawler_starts"u8, 0L);
        sink.Add("lru_maintainer_juggles"u8, 0L);
        sink.Add("malloc_fails"u8, 0L);
        sink.Add("log_worker_dropped"u8, 0L);
        sink.Add("log_worker_written"u8, 0L);
        sink.Add("log_watcher_skipped"u8, 0L);
        sink.Add("log_watcher_sent"u8, 0L);
        sink.Add("log_watchers"u8, 0L);
        sink.Add("unexpected_napi_ids"u8, 0L);
        sink.Add("round_robin_fallback"u8, 0L);
        Counter(in sink, "bytes"u8, KvCounter.CurrBytes);
        Counter(in sink, "curr_items"u8, KvCounter.CurrItems);
        Counter(in sink, "total_items"u8, KvCounter.TotalItems);
        sink.Add("slab_global_page_pool"u8, (long)(_store.PageCount - _store.PagesUsed));
        Counter(in sink, "expired_unfetched"u8, KvCounter.ExpiredUnfetched);
        Counter(in sink, "evicted_unfetched"u8, KvCounter.EvictedUnfetched);
        Counter(in sink, "evicted_active"u8, KvCounter.EvictedActive);
        Counter(in sink, "evictions"u8, KvCounter.Evictions);
        Counter(in sink, "reclaimed"u8, KvCounter.Reclaimed);
        sink.Add("crawler_reclaimed"u8, 0L);
        sink.Add("crawler_items_checked"u8, 0L);
        sink.Add("lrutail_reflocked"u8, 0L);
        sink.Add("moves_to_cold"u8, 0L);
        sink.Add("moves_to_warm"u8, 0L);
        sink.Add("moves_within_lru"u8, 0L);
        sink.Add("direct_reclaims"u8, 0L);
        sink.Add("lru_bumps_dropped"u8, 0L);
    }

    private void Counter(in StatSink sink, ReadOnlySpan<byte> name, KvCounter counter) => sink.Add(name, Counters.Read(counter));

    /// <summary>memcached's rusage format, seconds.microseconds.</summary>
    private static void AddSeconds(in StatSink sink, ReadOnlySpan<byte> name, TimeSpan time)
    {
        Span<byte> text = stackalloc byte[32];
        long micros = time.Ticks / 10;
        Utf8Formatter.TryFormat(micros / 1_000_000, text, out int n);
        text[n++] = (byte)'.';
        Utf8Formatter.TryFormat(micros % 1_000_000, text[n..], out int m, new StandardFormat('D', 6));
        sink.Add(name, text[..(n + m)]);
    }

    /// <summary>stats settings: the settings kv has, under memcached's names.</summary>
    private void SettingsStats(in StatSink sink)
    {
        sink.Add("maxbytes"u8, _options.MemoryLimitBytes);
        sink.Add("maxconns"u8, (long)_options.MaxConnections);
        sink.Add("verbosity"u8, (long)_verbosity);
        sink.Add("evictions"u8, "on"u8);
        Span<byte> factor = stackalloc byte[32];
        Utf8Formatter.TryFormat(_options.GrowthFactor, factor, out int factorLength, new StandardFormat('F', 2));
        sink.Add("growth_factor"u8, factor[..factorLength]);
        sink.Add("num_threads"u8, (long)_options.Threads);
        sink.Add("cas_enabled"u8, "yes"u8);
        sink.Add("item_size_max"u8, (long)_options.ItemSizeMaxBytes);
        sink.Add("hashpower_init"u8, (long)_store.HashPower);
        sink.Add("slab_reassign"u8, "no"u8);
        sink.Add("flush_enabled"u8, _options.FlushEnabled ? "yes"u8 : "no"u8);
        sink.Add("lru_segmented"u8, "yes"u8);
    }

    /// <summary>stats items and stats slabs: per slab class, under memcached's names, for classes that hold pages.</summary>
    private void SlabStats(in StatSink sink, bool items)
    {
        Span<byte> name = stackalloc byte[48];
        int active = 0;
        for (int cls = 0; cls < _store.ClassCount; cls++)
        {
            var info = _store.SlabClassInfo(cls);
            if (info.Pages == 0)
            {
                continue;
            }
            active++;
            if (items)
            {
                ClassStat(in sink, name, "items:"u8, cls, ":number"u8, info.Items);
            }
            else
            {
                ClassStat(in sink, name, ""u8, cls, ":chunk_size"u8, info.ChunkBytes);
                ClassStat(in sink, name, ""u8, cls, ":chunks_per_page"u8, _store.PageBytes / info.ChunkBytes);
                ClassStat(in sink, name, ""u8, cls, ":total_pages"u8, info.Pages);
                ClassStat(in sink, name, ""u8, cls, ":total_chunks"u8, info.UsedChunks + info.FreeChunks);
                ClassStat(in sink, name, ""u8, cls, ":used_chunks"u8, info.UsedChunks);
                ClassStat(in sink, name, ""u8, cls, ":free_chunks"u8, info.FreeChunks);
            }
        }
        if (!items)
        {
            sink.Add("active_slabs"u8, (long)active);
            sink.Add("total_malloced"u8, (long)_store.PagesUsed * _store.PageBytes);
        }
    }

    private static void ClassStat(in StatSink sink, Span<byte> buffer, ReadOnlySpan<byte> prefix, int cls, ReadOnlySpan<byte> suffix, long value)
    {
        prefix.CopyTo(buffer);
        Utf8Formatter.TryFormat(cls + 1, buffer[prefix.Length..], out int n);
        suffix.CopyTo(buffer[(prefix.Length + n)..]);
        sink.Add(buffer[..(prefix.Length + n + suffix.Length)], value);
    }
}
