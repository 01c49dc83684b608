// Wires the NetStack Meter to the configured OpenTelemetry exporters, for the `serve` host and in-process runs.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NetStack.IOKernel.Telemetry.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace NetStack.Apps.Hosting;

/// <summary>
/// The one place that turns <see cref="TelemetryOptions"/> into an OpenTelemetry metrics pipeline:
/// the host calls <see cref="AddNetStackTelemetry"/>, the load generator's in-process runs call
/// <see cref="BuildMeterProvider"/>. Both read the same <see cref="NetStackMetrics.MeterName"/> Meter.
/// </summary>
internal static class TelemetryExporters
{
    /// <summary>The service name exporters attach to every metric.</summary>
    public const string ServiceName = "netstack";

    /// <summary>Adds the NetStack Meter and every configured exporter to <paramref name="builder"/>.</summary>
    public static MeterProviderBuilder AddNetStackExporters(this MeterProviderBuilder builder, TelemetryOptions options)
    {
        builder.ConfigureResource(r => r.AddService(ServiceName)).AddMeter(NetStackMetrics.MeterName);
        if (options.Has("console"))
        {
            builder.AddConsoleExporter((_, reader) =>
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.ExportIntervalMillis);
        }
        if (options.Has("otlp"))
        {
            builder.AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(options.OtlpEndpoint);
                exporter.Protocol = options.OtlpProtocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.ExportIntervalMillis;
            });
        }
        if (options.Has("prometheus"))
        {
            builder.AddPrometheusHttpListener(p =>
            {
                p.Host = options.PrometheusHost;
                p.Port = options.PrometheusPort;
            });
        }
        return builder;
    }

    /// <summary>A standalone provider with the configured exporters (dispose it to stop them), or
    /// null when none is configured.</summary>
    public static MeterProvider? BuildMeterProvider(TelemetryOptions options)
    {
        options.Validate();
        return options.Enabled ? Sdk.CreateMeterProviderBuilder().AddNetStackExporters(options).Build() : null;
    }

    /// <summary>Registers <see cref="NetStackMetrics"/> (always: the Meter costs nothing unread) and,
    /// when exporters are configured, the OpenTelemetry pipeline that runs with the host.</summary>
    public static IHostApplicationBuilder AddNetStackTelemetry(this IHostApplicationBuilder builder, TelemetryOptions options)
    {
        options.Validate();
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        builder.Services.AddSingleton(_ => new NetStackMetrics());
        if (options.Enabled)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddNetStackExporters(options));
        }
        return builder;
    }

    /// <summary>Where the Prometheus exporter answers.</summary>
    public static string PrometheusUrl(TelemetryOptions options) =>
        $"http://{(options.PrometheusHost.Contains(':') ? $"[{options.PrometheusHost}]" : options.PrometheusHost)}:{options.PrometheusPort}/metrics";
}
