// Configuration of the metrics exporters (section "Telemetry"): none by default, so tests and CI stay quiet.
using System.Net;

namespace NetStack.Apps.Hosting;

/// <summary>Section "Telemetry": which OpenTelemetry exporters read the <c>NetStack</c> Meter, and where they send.</summary>
internal sealed class TelemetryOptions
{
    /// <summary>The exporter names <see cref="Exporters"/> accepts.</summary>
    public static readonly string[] ExporterNames = ["console", "otlp", "prometheus"];

    /// <summary>Exporters to run: any of console, otlp, prometheus. Empty (the default): no OpenTelemetry
    /// pipeline; the Meter is still there for <c>dotnet-counters</c> or any MeterListener.</summary>
    public List<string> Exporters { get; set; } = [];

    /// <summary>Address the Prometheus scrape endpoint binds. Loopback only: the endpoint has no authentication.</summary>
    public string PrometheusHost { get; set; } = "127.0.0.1";

    /// <summary>Port of the Prometheus scrape endpoint (path /metrics); 9464 is OpenTelemetry's default.</summary>
    public int PrometheusPort { get; set; } = 9464;

    /// <summary>Where the OTLP exporter sends (an OpenTelemetry Collector); gRPC's default port is 4317.</summary>
    public string OtlpEndpoint { get; set; } = "http://127.0.0.1:4317";

    /// <summary>OTLP transport: grpc or http/protobuf (then the endpoint usually ends in /v1/metrics on port 4318).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>How often the console and OTLP exporters collect and send, ms. Prometheus collects when scraped.</summary>
    public int ExportIntervalMillis { get; set; } = 10_000;

    /// <summary>True when any exporter is configured.</summary>
    public bool Enabled => Exporters.Count > 0;

    /// <summary>True when <paramref name="name"/> is configured.</summary>
    public bool Has(string name) => Exporters.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first bad key.</summary>
    public void Validate()
    {
        foreach (string e in Exporters)
        {
            if (!ExporterNames.Contains(e, StringComparer.OrdinalIgnoreCase))
            {
                throw new ConfigurationException($"Telemetry:Exporters: unknown exporter '{e}'; valid: {string.Join(", ", ExporterNames)}");
            }
        }
        if (!IPAddress.TryParse(PrometheusHost, out IPAddress? address) || !IPAddress.IsLoopback(address))
        {
            throw new ConfigurationException(
                $"Telemetry:PrometheusHost: '{PrometheusHost}' is not a loopback address; the scrape endpoint has no authentication, so it binds 127.0.0.1 (or ::1) only");
        }
        if (PrometheusPort is < 1 or > 65535)
        {
            throw new ConfigurationException($"Telemetry:PrometheusPort: {PrometheusPort} is not a port (1-65535)");
        }
        if (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out Uri? otlp) || otlp.Scheme is not ("http" or "https"))
        {
            throw new ConfigurationException($"Telemetry:OtlpEndpoint: '{OtlpEndpoint}' is not an http(s) URL");
        }
        if (OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            throw new ConfigurationException($"Telemetry:OtlpProtocol: '{OtlpProtocol}'; valid: grpc, http/protobuf");
        }
        if (ExportIntervalMillis < 100)
        {
            throw new ConfigurationException($"Telemetry:ExportIntervalMillis: {ExportIntervalMillis}; at least 100 ms");
        }
    }
}
