// The command sequences the differential tests send: every command, its edge cases and errors, text and binary.
using System.Text;

namespace NetStack.Tests.Kv;

internal static class DiffCases
{
    private static DiffStep T(string text) => new(_ => Encoding.Latin1.GetBytes(text));

    private static DiffStep TCas(string text) => new(cas => Encoding.Latin1.GetBytes(text.Replace("{CAS}", cas.ToString())));

    private static DiffStep TClose(string text) => new(_ => Encoding.Latin1.GetBytes(text), ExpectClose: true);

    private static DiffStep B(params byte[][] packets) => new(_ => Bin.Concat(packets));

    private static DiffStep BCas(Func<ulong, byte[]> build) => new(build);

    private static DiffStep BClose(params byte[][] packets) => new(_ => Bin.Concat(packets), ExpectClose: true);

    private static DiffCase TextCase(string name, params DiffStep[] steps) => new(name, false, steps);

    private static DiffCase BinaryCase(string name, params DiffStep[] steps) => new(name, true, steps);

    private static readonly string Key250 = new('k', 250);
    private static readonly string Key251 = new('k', 251);

    /// <summary>The largest value a 1-byte key with flags 0 may have under -I 1m: 1 MiB less memcached's 60 bytes of overhead.</summary>
    private const int MaxValueForOneByteKey = (1 << 20) - 60;

    /// <summary>Cases whose outcome depends on how reads split a long line (memcached's 2048-byte rule), never split.</summary>
    private static readonly HashSet<string> s_unsplittable = ["long-line-with-newline", "long-line-without-newline-closes"];

    public static readonly DiffCase[] Text =
    [
        TextCase("storage-commands",
            T("set a 0 0 1\r\nx\r\nget a\r\ngets a\r\nadd a 0 0 1\r\ny\r\nadd b 5 0 2\r\nbb\r\nreplace c 0 0 1\r\nz\r\n"
              + "replace a 7 0 3\r\nabc\r\nappend a 9 0 2\r\nde\r\nprepend a 0 0 2\r\nzz\r\nget a b c\r\n"
              + "append nope 0 0 1\r\nx\r\nprepend nope 0 0 1\r\nx\r\nset empty 0 0 0\r\n\r\nget empty\r\n"
              + "set crlf 0 0 5\r\na\r\nb\r\r\nget crlf\r\n")),
        TextCase("cas",
            T("set k 0 0 1\r\nx\r\ngets k\r\n"),
            TCas("cas k 0 0 1 {CAS}\r\ny\r\ncas k 0 0 1 {CAS}\r\nz\r\ncas nope 0 0 1 1\r\nq\r\ncas k 0 0 1 0\r\nq\r\ngets k\r\n"),
            TCas("cas k 3 0 2 {CAS} noreply\r\nyy\r\ngets k\r\ncas k 0 0 1 abc\r\nq\r\ncas k 0 0 1\r\nq\r\n")),
        TextCase("noreply",
            T("set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nadd b 0 0 1 noreply\r\ny\r\nreplace a 0 0 1 noreply\r\nz\r\n"
              + "append a 0 0 1 noreply\r\n1\r\nprepend a 0 0 1 noreply\r\n0\r\nget a b\r\nset n 0 0 1 noreply\r\n5\r\n"
              + "incr n 2 noreply\r\ndecr n 1 noreply\r\nincr missing 1 noreply\r\nget n\r\ntouch n 10 noreply\r\n"
              + "delete b noreply\r\ndelete b noreply\r\nget b\r\nverbosity 1 noreply\r\nflush_all noreply\r\nget a\r\n"
              + "set big 0 0 2000000 noreply\r\n" + new string('b', 2000000) + "\r\nget big\r\n")),
        TextCase("incr-decr",
            T("set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\nincr n 18446744073709551615\r\nget n\r\nincr n 1\r\n"
              + "set m 0 0 20\r\n18446744073709551615\r\nincr m 1\r\nget m\r\ndecr m 5\r\nincr missing 1\r\ndecr missing 1\r\n"
              + "set s 0 0 3\r\nabc\r\nincr s 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\nincr n abc\r\nincr n -1\r\nincr n 1x\r\n"
              + "set neg 0 0 2\r\n-1\r\nincr neg 1\r\nset sp 0 0 4\r\n 12 \r\nincr sp 1\r\nget sp\r\n"
              + "set big 0 0 21\r\n184467440737095516150\r\nincr big 1\r\nset z 0 0 3\r\n007\r\nincr z 1\r\nget z\r\n"
              + "decr z 100\r\nget z\r\nincr z 18446744073709551616\r\nset tab 0 0 3\r\n5\t7\r\nincr tab 1\r\n")),
        TextCase("delete",
            T("delete a\r\nset a 0 0 1\r\nx\r\ndelete a\r\nset a 0 0 1\r\nx\r\ndelete a 0\r\nset a 0 0 1\r\nx\r\n"
              + "delete a 0 noreply\r\nget a\r\ndelete a 1\r\ndelete a noreply\r\ndelete a x y\r\ndelete a 0 x\r\ndelete\r\n"
              + "delete a b c d\r\n")),
        TextCase("touch-gat-gats",
            T("set t 0 0 1\r\nx\r\ntouch t 100\r\ntouch nope 100\r\ngat 100 t nope\r\ngats 0 t\r\ngat abc t\r\n"
              + "touch t abc\r\nmg t t\r\ngat 200 t\r\nmg t t\r\ngat -1 t\r\nget t\r\ngat\r\ngat 10\r\ntouch t\r\n")),
        TextCase("exptime",
            T("set e1 0 -1 1\r\nx\r\nget e1\r\nset e2 0 1000000000 1\r\nx\r\nget e2\r\nset e3 0 4000000000 1\r\nx\r\nget e3\r\n"
              + "set e4 0 2592000 1\r\nx\r\nmg e4 t\r\nset e5 0 2592001 1\r\nx\r\nget e5\r\nset e6 0 4294967396 1\r\nx\r\nmg e6 t\r\n"
              + "set e7 0 100 1\r\nx\r\nmg e7 t v\r\ntouch e7 -5\r\nget e7\r\n")),
        TextCase("flush-all",
            T("set f 0 0 1\r\nx\r\nflush_all\r\nget f\r\nset f 0 0 1\r\ny\r\nget f\r\nflush_all 0\r\nget f\r\n"
              + "set f 0 0 1\r\nz\r\nflush_all noreply\r\nget f\r\nflush_all abc\r\nflush_all noreply 10\r\n"
              + "set g 0 0 1\r\nw\r\nflush_all 100\r\nget g\r\nflush_all -1\r\nget g\r\nflush_all 1 2 3\r\n")),
        TextCase("version-verbosity", T("version\r\nverbosity 1\r\nverbosity\r\nverbosity x\r\nverbosity 1 noreply\r\nverbosity 5 6\r\nverbosity 0\r\n")),
        TextCase("quit", T("set q 0 0 1\r\nx\r\n"), TClose("get q\r\nquit\r\nget q\r\n")),
        TextCase("unknown-and-malformed-commands",
            T("foo\r\n\r\n\n \r\nGET a\r\nget\r\ngets\r\nset a 0 0\r\nset a 0 0 1 2 3\r\nx\r\nsets a\r\nincr a\r\ndecr\r\n"
              + "touch a\r\nmx\r\nm\r\nmg\r\nms\r\nmd\r\nma\r\ncas a 0 0 1\r\nx\r\nx\r\nbget a\r\nshutdown\r\n"
              + "get a b c d e f g h i j k l m n o p q r s t u v w x y z\r\nset a 0 0 1 noreply x y z w v u t s r q p o n m l k j i h g f\r\n"
              + "\t\r\nflush_all 1 2 3 4\r\n")),
        TextCase("keys",
            T($"set {Key250} 0 0 1\r\nx\r\nget {Key250}\r\nset {Key251} 0 0 1\r\nx\r\n"),
            // First in its write: memcached 1.6.18 throws away every reply it has not sent yet when a get
            // has a key over 250 bytes, including those of the commands before it (see docs/kv.md).
            T($"get a {Key251} b\r\nincr {Key251} 1\r\ndelete {Key251}\r\ntouch {Key251} 1\r\nset a\tb 0 0 1\r\nt\r\nget a\tb\r\nget a\r\n"
              + "set a\u0001b 0 0 1\r\nc\r\nget a\u0001b\r\nget a\0b\r\nget a\r\r\nset \u0080\u00ff 0 0 1\r\nh\r\nget \u0080\u00ff\r\n")),
        TextCase("numbers",
            T("set a -1 0 1\r\nx\r\nset a abc 0 1\r\nx\r\nset a 1x 0 1\r\nx\r\nset a +5 0 1\r\nx\r\nget a\r\n"
              + "set b 4294967297 0 1\r\nx\r\nget b\r\nset c 0 abc 1\r\nx\r\nset c 0 0 -1\r\nset c 0 0 abc\r\n"
              + "set d 0 0 4294967298\r\nxy\r\nget d\r\nset e 0 0 2147483647\r\nset f 18446744073709551615 0 1\r\nx\r\nget f\r\n"
              + "set g 0 0 1\t\r\nx\r\nget g\r\nset h 99999999999999999999 0 1\r\nx\r\nset i 0 0 00001\r\nx\r\nget i\r\n")),
        TextCase("bad-data-chunk",
            T("set a 0 0 3\r\nabcd\r\nget a\r\nset b 0 0 3\r\nab\r\n\r\nget b\r\nset c 0 0 1\r\nxy\r\nset c 0 0 1 noreply\r\nxy\r\n"
              + "ms d 3\r\nabcd\r\nms d 3 q\r\nabcd\r\nget d\r\nset e 0 0 2\r\nab\n\nget e\r\n")),
        TextCase("too-large-values",
            new DiffStep(_ => Encoding.Latin1.GetBytes($"set ok 0 0 {MaxValueForOneByteKey}\r\n" + new string('v', MaxValueForOneByteKey) + "\r\nmg ok s\r\n"
                + $"set k 0 0 1\r\nx\r\nset k 0 0 {MaxValueForOneByteKey + 1}\r\n" + new string('w', MaxValueForOneByteKey + 1) + "\r\nget k\r\n"
                + $"set f 1 0 {MaxValueForOneByteKey - 4}\r\n" + new string('f', MaxValueForOneByteKey - 4) + "\r\nmg f s\r\n"
                + $"set f 1 0 {MaxValueForOneByteKey - 3}\r\n" + new string('f', MaxValueForOneByteKey - 3) + "\r\nmg f s\r\n"
                + "add k 0 0 1\r\nx\r\nadd k 0 0 2000000\r\n" + new string('a', 2000000) + "\r\nget k\r\n"
                + "append k 0 0 1048576\r\n" + new string('p', 1048576) + "\r\nget k\r\n"
                + $"set y 0 0 {MaxValueForOneByteKey - 1}\r\n" + new string('y', MaxValueForOneByteKey - 1) + "\r\nappend y 0 0 2\r\nzz\r\nmg y s\r\n"
                + "ms m 2000000 T0\r\n" + new string('m', 2000000) + "\r\nms m 2000000 M\r\n" + new string('m', 2000000) + "\r\n"))),
        TextCase("long-line-with-newline", T(new string('x', 2100) + "\r\n"), T("get " + new string('k', 2000) + " a\r\n")),
        TextCase("long-line-without-newline-closes", TClose(new string('x', 3000))),
        TextCase("large-multiget",
            T(string.Concat(Enumerable.Range(0, 100).Select(i => $"set key{i} {i} 0 {i % 7}\r\n{new string((char)('a' + i % 26), i % 7)}\r\n"))),
            T("get " + string.Join(' ', Enumerable.Range(0, 300).Select(i => $"key{i % 150}")) + "\r\n"),
            T("gets " + string.Join(' ', Enumerable.Range(0, 120).Select(i => $"key{i}")) + "\r\ngat 0 " + string.Join(' ', Enumerable.Range(0, 50).Select(i => $"key{i}")) + "\r\n")),
        TextCase("http-request-closes", TClose("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
        TextCase("binary-magic-on-a-text-connection",
            T("mn\r\n\u0080\r\n\u0080 a b\r\n\u0080\u0080 x\r\n\u0080\u0000\u0000\u0000\r\nmn\r\n"),
            TClose("\u0080\u0080 / HTTP/1.0\r\n")),
        TextCase("whitespace",
            T("set a 0 0 1\r\nx\r\nget a  a\r\nget a \r\n get a\r\nset b 0 0 1  noreply\r\ny\r\nget b\r\n"
              + "incr a noreply\r\ntouch a 10 x\r\nverbosity noreply\r\ndelete b  noreply\r\nget b\r\nget\ta\r\n"
              + "set c 0 0 1\r\r\nx\r\nget c\r\nget c\r\r\n")),
        TextCase("meta-get",
            T("set m 5 0 3\r\nabc\r\nmg m\r\nmg m v\r\nmg m v k f t s c O123 q\r\nmg nope v k O9\r\nmg nope v q k\r\nmn\r\n"
              + "mg m h l\r\nmg m h\r\nmg m u h\r\nmg m v v\r\nmg m x\r\nmg m O" + new string('o', 32) + "\r\nmg m O" + new string('o', 31) + "\r\n"
              + "mg m a b c d e f g h i j k l m n o p q r s\r\nmg m c f h k l O1 s t v\r\nmg " + Key251 + " v\r\nmg m T\r\nmg m Tx\r\n"
              + "mg m T30 t\r\nmg m t T60 t\r\nmg m t T60\r\nmg m t\r\nmg m \x80\r\nmg m P L\r\nmg m O\r\n")),
        TextCase("meta-get-vivify-and-recache",
            T("mg v1 N30 v c t\r\nmg v1 N30 v t\r\nmg v1 v\r\nset r 0 100 1\r\nx\r\nmg r R30 v\r\nmg r R200 v\r\nmg r R200 v\r\n"
              + "md r I\r\nmg r v c\r\nmg r v\r\nmg v2 N-1 k\r\nmg v3 Nx\r\n")),
        TextCase("meta-get-base64",
            T("ms Zm9v 3 b\r\nbar\r\nmg Zm9v b v k\r\nget foo\r\nmg foo k v\r\nmg !!!! b v\r\nmg Zm9 b v\r\nmg Zg== b v k\r\n"
              + "ms Zg== 1 b k\r\nx\r\nmg Zg== b k v\r\nmd Zg== b k\r\nget f\r\n")),
        TextCase("meta-set",
            T("ms a 2\r\nhi\r\nms a 2 T100 F7 k c O55\r\nyo\r\nmg a v f t\r\nms b 1 ME\r\nx\r\nms b 1 ME k\r\ny\r\nmg b v\r\n"
              + "ms b 2 MA\r\nzz\r\nms b 2 MP\r\naa\r\nmg b v\r\nms c 1 MR\r\nx\r\nms b 1 MR\r\nq\r\nms b 1 MS\r\nr\r\n"
              + "ms b 1 MX\r\nx\r\nms b 1 MSS\r\nx\r\nms b 1 q\r\ns\r\nms b 1 q ME\r\nt\r\nmg b v\r\nms\r\nms b\r\nms b x\r\n"
              + "ms b -1\r\nms b 1 F-1\r\nx\r\nms b 1 Fx\r\nx\r\nms b 1 Tx\r\nx\r\nms b 1 Cx\r\nx\r\nms b 1 zz\r\nx\r\n"
              + "ms b 1 v v\r\nx\r\nms b 1 O" + new string('o', 40) + "\r\nx\r\nms " + Key251 + " 1\r\nx\r\n"
              + "ms b 1 a b c d e f g h i j k l m n o p q r s\r\nx\r\nms b 1 I\r\nx\r\nmg b v\r\n")),
        TextCase("meta-set-cas",
            T("ms c 1 c\r\nx\r\nmg c c\r\n"),
            TCas("ms c 1 C{CAS} c\r\ny\r\nms c 1 C{CAS} c\r\nz\r\nms c 1 C1 MA\r\nw\r\nms nope 1 C5\r\nx\r\nms nope 1 C5 ME\r\nx\r\nmg c v c\r\n"),
            TCas("ms c 1 C{CAS} MA\r\n!\r\nmg c v\r\nms c 1 C1 I\r\nq\r\nmg c v c\r\nms c 1 C99999999 I\r\nr\r\nmg c v\r\n")),
        TextCase("meta-delete",
            T("md nope\r\nmd nope q\r\nmd nope O1 k\r\nset d 0 0 1\r\nx\r\nmd d q\r\nmg d v\r\nset d 0 0 1\r\nx\r\nmd d O2 k\r\n"
              + "set d 0 0 1\r\nx\r\nmd d C1\r\nmd d I T30\r\nmg d v t c\r\nmd d I q\r\nmg d v\r\nmd d x\r\nmd d q q\r\nmd\r\nmd "
              + Key251 + "\r\nmd d O" + new string('o', 40) + "\r\nmd d T10\r\nmg d t\r\n"),
            T("mg d c\r\n"),
            TCas("md d C{CAS} q\r\nmg d v\r\n")),
        TextCase("meta-arithmetic",
            T("ma c\r\nma c q\r\nma c N0 J5 v\r\nma c v\r\nma c v D10 MD t\r\nma c MI q\r\nmg c v h l\r\nma c M+ v\r\nma c M- D2 v\r\n"
              + "ma c MX\r\nma c MII\r\nma c Dx\r\nma c Jx N0\r\nset s 0 0 1\r\nx\r\nma s\r\nma c C1\r\nma c O1 k v c\r\n"
              + "ma c v T100 t\r\nset nine 0 0 1\r\n9\r\nma nine v T100 t\r\nmg nine t\r\n"),
            // In a write of its own: memcached rewrites a number in place only when no reply still
            // waiting to be sent holds the item, so what T does depends on what was flushed before.
            T("ma nine v t T50\r\nmg nine t\r\n"),
            T("ma new N100 t v\r\nma new2 N100 T10 t v\r\nma new3 q N0 J7\r\nma c O" + new string('o', 40) + "\r\nmg c v\r\n"
              + "ma\r\nma " + Key251 + "\r\nma c D18446744073709551615 v\r\nma c v\r\n"),
            T("mg c c\r\n"),
            TCas("ma c C{CAS} v\r\nma c C{CAS} v\r\n")),
        TextCase("meta-noop-and-debug", T("mn\r\nmn x y\r\nme nope\r\nme\r\n")),
        TextCase("stats",
            T("set a 0 0 1\r\nx\r\nget a\r\nget b\r\ngets a b\r\ndelete a\r\ndelete a\r\nset n 0 0 1\r\n1\r\nincr n 1\r\nincr z 1\r\n"
              + "decr n 1\r\ndecr z 1\r\ntouch n 1\r\ntouch z 1\r\ngat 1 n z\r\nflush_all\r\nset c 0 0 1\r\nx\r\n"),
            T("gets c\r\n"),
            TCas("cas c 0 0 1 {CAS}\r\ny\r\ncas c 0 0 1 1\r\nz\r\ncas zz 0 0 1 1\r\nz\r\nset big 0 0 2000000\r\n" + new string('b', 2000000) + "\r\n"
                 + "mg c v\r\nmg zz v\r\nmg c T10\r\nme c\r\n"),
            T("stats\r\nstats detail\r\nstats detail on\r\nstats detail off\r\nstats bogus\r\nstats reset\r\nstats\r\n")),
    ];

    public static readonly DiffCase[] Binary =
    [
        BinaryCase("get-family",
            B(Bin.Request(0x00, "g", opaque: 1), Bin.Request(0x0c, "g", opaque: 2), Bin.Request(0x09, "g", opaque: 3), Bin.Request(0x0d, "g", opaque: 4),
              Bin.Request(0x01, "g", Bin.SetExtras(0xdeadbeef, 0), Encoding.ASCII.GetBytes("value"), opaque: 5),
              Bin.Request(0x00, "g", opaque: 6), Bin.Request(0x0c, "g", opaque: 7), Bin.Request(0x09, "g", opaque: 8), Bin.Request(0x0d, "g", opaque: 9),
              Bin.Request(0x0a, opaque: 10))),
        BinaryCase("storage",
            B(Bin.Request(0x01, "s", Bin.SetExtras(1, 0), "a"u8.ToArray(), opaque: 1), Bin.Request(0x11, "s", Bin.SetExtras(2, 0), "b"u8.ToArray(), opaque: 2),
              Bin.Request(0x02, "s", Bin.SetExtras(3, 0), "c"u8.ToArray(), opaque: 3), Bin.Request(0x12, "s", Bin.SetExtras(3, 0), "c"u8.ToArray(), opaque: 4),
              Bin.Request(0x02, "t", Bin.SetExtras(3, 0), "c"u8.ToArray(), opaque: 5), Bin.Request(0x12, "u", Bin.SetExtras(3, 0), "c"u8.ToArray(), opaque: 6),
              Bin.Request(0x03, "nope", Bin.SetExtras(3, 0), "c"u8.ToArray(), opaque: 7), Bin.Request(0x13, "nope", Bin.SetExtras(3, 0), "c"u8.ToArray(), opaque: 8),
              Bin.Request(0x03, "s", Bin.SetExtras(4, 0), "dd"u8.ToArray(), opaque: 9), Bin.Request(0x13, "s", Bin.SetExtras(5, 0), "ee"u8.ToArray(), opaque: 10),
              Bin.Request(0x00, "s", opaque: 11), Bin.Request(0x00, "t", opaque: 12), Bin.Request(0x00, "u", opaque: 13),
              Bin.Request(0x01, "x", Bin.SetExtras(0, 0xffffffff), "v"u8.ToArray(), opaque: 14), Bin.Request(0x00, "x", opaque: 15),
              Bin.Request(0x01, "e", Bin.SetExtras(0, 0), [], opaque: 16), Bin.Request(0x00, "e", opaque: 17))),
        BinaryCase("cas",
            B(Bin.Request(0x01, "c", Bin.SetExtras(0, 0), "1"u8.ToArray(), opaque: 1)),
            BCas(cas => Bin.Concat(Bin.Request(0x01, "c", Bin.SetExtras(0, 0), "2"u8.ToArray(), cas: cas, opaque: 2),
                Bin.Request(0x01, "c", Bin.SetExtras(0, 0), "3"u8.ToArray(), cas: cas, opaque: 3),
                Bin.Request(0x02, "c", Bin.SetExtras(0, 0), "4"u8.ToArray(), cas: 1, opaque: 4),
                Bin.Request(0x03, "nope", Bin.SetExtras(0, 0), "5"u8.ToArray(), cas: 1, opaque: 5),
                Bin.Request(0x0e, "c", null, "6"u8.ToArray(), cas: 1, opaque: 6),
                Bin.Request(0x00, "c", opaque: 7))),
            BCas(cas => Bin.Concat(Bin.Request(0x0e, "c", null, "7"u8.ToArray(), cas: cas, opaque: 8),
                Bin.Request(0x04, "c", cas: 1, opaque: 9), Bin.Request(0x00, "c", opaque: 10))),
            BCas(cas => Bin.Concat(Bin.Request(0x04, "c", cas: cas, opaque: 11), Bin.Request(0x00, "c", opaque: 12)))),
        BinaryCase("delete",
            B(Bin.Request(0x04, "d", opaque: 1), Bin.Request(0x14, "d", opaque: 2),
              Bin.Request(0x01, "d", Bin.SetExtras(0, 0), "x"u8.ToArray(), opaque: 3), Bin.Request(0x14, "d", opaque: 4),
              Bin.Request(0x00, "d", opaque: 5), Bin.Request(0x01, "d", Bin.SetExtras(0, 0), "x"u8.ToArray(), opaque: 6),
              Bin.Request(0x04, "d", opaque: 7), Bin.Request(0x0a, opaque: 8))),
        BinaryCase("incr-decr",
            B(Bin.Request(0x05, "n", Bin.ArithExtras(1, 10, 0xffffffff), opaque: 1), Bin.Request(0x05, "n", Bin.ArithExtras(1, 10, 0), opaque: 2),
              Bin.Request(0x05, "n", Bin.ArithExtras(5, 10, 0), opaque: 3), Bin.Request(0x06, "n", Bin.ArithExtras(100, 10, 0), opaque: 4),
              Bin.Request(0x15, "n", Bin.ArithExtras(7, 0, 0), opaque: 5), Bin.Request(0x16, "n", Bin.ArithExtras(2, 0, 0), opaque: 6),
              Bin.Request(0x00, "n", opaque: 7), Bin.Request(0x05, "n", Bin.ArithExtras(ulong.MaxValue, 0, 0), opaque: 8),
              Bin.Request(0x01, "s", Bin.SetExtras(0, 0), "abc"u8.ToArray(), opaque: 9), Bin.Request(0x05, "s", Bin.ArithExtras(1, 0, 0), opaque: 10),
              Bin.Request(0x15, "s", Bin.ArithExtras(1, 0, 0), opaque: 11), Bin.Request(0x06, "m", Bin.ArithExtras(1, 3, 0xffffffff), opaque: 12),
              Bin.Request(0x16, "m", Bin.ArithExtras(1, 3, 0xffffffff), opaque: 13), Bin.Request(0x05, "n", Bin.ArithExtras(1, 0, 0), cas: 1, opaque: 14),
              Bin.Request(0x06, "new", Bin.ArithExtras(1, 42, 100), opaque: 15), Bin.Request(0x00, "new", opaque: 16),
              Bin.Request(0x0a, opaque: 17))),
        BinaryCase("append-prepend",
            B(Bin.Request(0x0e, "a", null, "x"u8.ToArray(), opaque: 1), Bin.Request(0x19, "a", null, "x"u8.ToArray(), opaque: 2),
              Bin.Request(0x0f, "a", null, "x"u8.ToArray(), opaque: 3), Bin.Request(0x1a, "a", null, "x"u8.ToArray(), opaque: 4),
              Bin.Request(0x01, "a", Bin.SetExtras(9, 0), "mid"u8.ToArray(), opaque: 5), Bin.Request(0x0e, "a", null, ">"u8.ToArray(), opaque: 6),
              Bin.Request(0x19, "a", null, ">>"u8.ToArray(), opaque: 7), Bin.Request(0x0f, "a", null, "<"u8.ToArray(), opaque: 8),
              Bin.Request(0x1a, "a", null, "<<"u8.ToArray(), opaque: 9), Bin.Request(0x00, "a", opaque: 10),
              Bin.Request(0x0a, opaque: 11))),
        BinaryCase("flush-noop-version",
            B(Bin.Request(0x01, "f", Bin.SetExtras(0, 0), "x"u8.ToArray(), opaque: 1), Bin.Request(0x08, opaque: 2), Bin.Request(0x00, "f", opaque: 3),
              Bin.Request(0x01, "f", Bin.SetExtras(0, 0), "x"u8.ToArray(), opaque: 4), Bin.Request(0x18, opaque: 5), Bin.Request(0x00, "f", opaque: 6),
              Bin.Request(0x08, extras: Bin.U32(0), opaque: 7), Bin.Request(0x0a, opaque: 8), Bin.Request(0x0b, opaque: 9),
              Bin.Request(0x01, "g", Bin.SetExtras(0, 0), "x"u8.ToArray(), opaque: 10), Bin.Request(0x08, extras: Bin.U32(100), opaque: 11),
              Bin.Request(0x00, "g", opaque: 12), Bin.Request(0x08, opaque: 13))),
        BinaryCase("touch-gat",
            B(Bin.Request(0x01, "t", Bin.SetExtras(3, 0), "tv"u8.ToArray(), opaque: 1), Bin.Request(0x1c, "t", Bin.U32(100), opaque: 2),
              Bin.Request(0x1c, "nope", Bin.U32(100), opaque: 3), Bin.Request(0x1d, "t", Bin.U32(100), opaque: 4),
              Bin.Request(0x1e, "t", Bin.U32(100), opaque: 5), Bin.Request(0x1e, "nope", Bin.U32(100), opaque: 6),
              Bin.Request(0x23, "t", Bin.U32(100), opaque: 7), Bin.Request(0x24, "t", Bin.U32(100), opaque: 8),
              Bin.Request(0x23, "nope", Bin.U32(100), opaque: 9), Bin.Request(0x24, "nope", Bin.U32(100), opaque: 10),
              Bin.Request(0x1d, "nope", Bin.U32(100), opaque: 11), Bin.Request(0x0a, opaque: 12))),
        BinaryCase("stat",
            B(Bin.Request(0x01, "s", Bin.SetExtras(0, 0), "x"u8.ToArray(), opaque: 1), Bin.Request(0x00, "s", opaque: 2),
              Bin.Request(0x00, "z", opaque: 3), Bin.Request(0x10, opaque: 4)),
            B(Bin.Request(0x10, "bogus", opaque: 5), Bin.Request(0x10, "reset", opaque: 6), Bin.Request(0x10, "detail on", opaque: 7),
              Bin.Request(0x10, "detail x", opaque: 8))),
        BinaryCase("unknown-opcodes-swallow-the-body-length",
            // memcached swallows the body length again after the extras and key it read, so each
            // unknown request here is followed by that many filler bytes to stay aligned.
            B(Bin.Request(0x1b, extras: Bin.U32(1), opaque: 1), new byte[4], Bin.Request(0x0a, opaque: 2),
              Bin.Request(0x50, "k", null, "vvvv"u8.ToArray(), opaque: 3), new byte[1], Bin.Request(0x0a, opaque: 4),
              Bin.Request(0x20, opaque: 5), Bin.Request(0x21, "PLAIN", null, "abc"u8.ToArray(), opaque: 6),
              Bin.Request(0x30, opaque: 7), Bin.Request(0x0a, opaque: 8))),
        BinaryCase("too-large-value-is-swallowed",
            B(Bin.Request(0x01, "big", Bin.SetExtras(0, 0), "old"u8.ToArray(), opaque: 1),
              Bin.Request(0x01, "big", Bin.SetExtras(0, 0), new byte[(1 << 20) + 10], opaque: 2), Bin.Request(0x00, "big", opaque: 3),
              Bin.Request(0x11, "big2", Bin.SetExtras(0, 0), new byte[(1 << 20) + 10], opaque: 4),
              Bin.Request(0x01, "ok", Bin.SetExtras(0, 0), new byte[(1 << 20) - 61], opaque: 5),
              Bin.Request(0x01, "ok", Bin.SetExtras(0, 0), new byte[(1 << 20) - 60], opaque: 6),
              Bin.Request(0x01, "ok", Bin.SetExtras(1, 0), new byte[(1 << 20) - 61], opaque: 7),
              Bin.Request(0x0e, "ok", null, new byte[(1 << 20) + 1], opaque: 8), Bin.Request(0x0a, opaque: 9))),
        BinaryCase("multiget-of-quiet-gets",
            B([.. Enumerable.Range(0, 60).Select(i => Bin.Request(0x01, $"m{i}", Bin.SetExtras((uint)i, 0), Encoding.ASCII.GetBytes(new string('x', i)), opaque: (uint)i)),
               Bin.Request(0x0a, opaque: 1000)]),
            B([.. Enumerable.Range(0, 100).Select(i => Bin.Request(i % 2 == 0 ? (byte)0x0d : (byte)0x09, $"m{i}", opaque: (uint)i)),
               Bin.Request(0x0c, "m1", opaque: 2000), .. Enumerable.Range(0, 30).Select(i => Bin.Request(0x0d, $"m{i * 3}", opaque: (uint)i)),
               Bin.Request(0x0a, opaque: 3000)])),
        BinaryCase("quit", B(Bin.Request(0x0a, opaque: 1)), BClose(Bin.Request(0x07, opaque: 2), Bin.Request(0x0a, opaque: 3))),
        BinaryCase("quitq", BClose(Bin.Request(0x17, opaque: 2), Bin.Request(0x0a, opaque: 3))),
        BinaryCase("get-with-extras-is-a-protocol-error", BClose(Bin.Request(0x0a, opaque: 1), Bin.Request(0x00, "k", Bin.U32(1), opaque: 2), Bin.Request(0x0a, opaque: 3))),
        BinaryCase("key-longer-than-body-closes", BClose(Bin.Request(0x00, "key", opaque: 1, bodyLength: 1), new byte[8])),
        BinaryCase("key-over-250-closes", BClose(Bin.Request(0x00, new string('k', 251), opaque: 1))),
        BinaryCase("bad-magic-closes", BClose(Bin.Request(0x0a, opaque: 1), [0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
        BinaryCase("malformed-lengths",
            BClose(Bin.Request(0x01, "k", Bin.U32(1), "v"u8.ToArray(), opaque: 1))),
        BinaryCase("noop-with-body-is-a-protocol-error", BClose(Bin.Request(0x0a, "k", opaque: 1))),
        BinaryCase("get-without-key-is-a-protocol-error", BClose(Bin.Request(0x00, opaque: 1))),
        BinaryCase("flush-with-bad-extras-is-a-protocol-error", BClose(Bin.Request(0x08, extras: new byte[3], opaque: 1))),
        BinaryCase("key-of-250-bytes",
            B(Bin.Request(0x01, new string('k', 250), Bin.SetExtras(0, 0), "v"u8.ToArray(), opaque: 1),
              Bin.Request(0x0c, new string('k', 250), opaque: 2), Bin.Request(0x04, new string('k', 250), opaque: 3))),
        BinaryCase("stat-with-trailing-body-bytes-parses-them-as-the-next-request",
            B(Bin.Request(0x10, "bogus", opaque: 1, bodyLength: 5 + 24), Bin.Request(0x0a, opaque: 2))),
        BinaryCase("touch-with-extra-body-bytes",
            B(Bin.Request(0x01, "t", Bin.SetExtras(0, 0), "v"u8.ToArray(), opaque: 1),
              Bin.Request(0x1c, "t", Bin.U32(10), opaque: 2, bodyLength: 5 + 24), Bin.Request(0x0a, opaque: 3))),
    ];

    /// <summary>The same case with every step cut into several writes: at 1, at every CR (so the CRLF
    /// straddles writes), in the middle, and one before the end.</summary>
    public static DiffCase Split(DiffCase c)
    {
        if (s_unsplittable.Contains(c.Name))
        {
            return c;
        }
        return c with
        {
            Name = c.Name + " (split)",
            Steps = [.. c.Steps.Select(step => new DiffStep(step.Build, step.ExpectClose, CutsFor(step, c.Binary)))],
        };
    }

    private static int[] CutsFor(DiffStep step, bool binary)
    {
        byte[] sample = step.Build(1);
        var cuts = new SortedSet<int> { 1, sample.Length / 2, sample.Length - 1 };
        int added = 0;
        for (int i = 0; i < sample.Length && added < 12; i++)
        {
            if (binary ? i % 24 == 23 : sample[i] == '\r')
            {
                cuts.Add(i + 1);
                added++;
            }
        }
        return [.. cuts];
    }
}
