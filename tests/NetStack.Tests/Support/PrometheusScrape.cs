// Scraping a Prometheus endpoint the way the telemetry tests need: a free loopback port, and polling until completions show.
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace NetStack.Tests.Support;

/// <summary>Helpers for the tests that read the NetStack Meter through the Prometheus exporter.</summary>
internal static class PrometheusScrape
{
    /// <summary>A loopback TCP port nobody listens on now.</summary>
    public static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Scrapes <c>/metrics</c> on <paramref name="port"/> until netstack_requests_completed_total is above 0
    /// (the exporter caches a scrape for 300 ms) or 30 s pass; returns the last scrape and the count.</summary>
    public static async Task<(string Text, long Completed)> UntilCompleted(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string text = "";
        long completed = 0;
        while (completed == 0 && DateTime.UtcNow < deadline)
        {
            text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            Match m = Regex.Match(text, @"^netstack_requests_completed_total\{[^}]*\} (\d+)", RegexOptions.Multiline);
            completed = m.Success ? long.Parse(m.Groups[1].Value) : 0;
            if (completed == 0)
            {
                await Task.Delay(100);
            }
        }
        return (text, completed);
    }
}
