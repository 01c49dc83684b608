// Exact results of queueing theory the simulator is held to (M/M/1, M/D/1, M/G/1, M/M/c, M/G/1-PS).
using NetStack.Runtime.Workloads;

namespace NetStack.Measurement.Model;

/// <summary>
/// Closed forms for Poisson arrivals at utilization ρ (= offered load, a fraction of capacity),
/// service times in ns. Response time = waiting + service, as the simulator's latency is.
/// References: Kleinrock, Queueing Systems vol. 1 (1975), §3.2 (M/M/1), §3.5 (M/M/c),
/// §5.6–5.7 (M/G/1, Pollaczek–Khinchine); Harchol-Balter, Performance Modeling and Design of
/// Computer Systems (2013), §22 (M/G/1-PS: E[T(x)] = x / (1 − ρ)).
/// </summary>
internal static class ClosedForms
{
    /// <summary>M/M/1: the response time is exponential with mean S / (1 − ρ), so its q-quantile is
    /// −ln(1 − q) · S / (1 − ρ).</summary>
    /// <param name="rho">Utilization, 0 ≤ ρ &lt; 1.</param>
    /// <param name="meanServiceNs">Mean service time S.</param>
    /// <param name="quantile">q in (0, 1): 0.99 for p99.</param>
    public static double MM1ResponseQuantileNs(double rho, double meanServiceNs, double quantile)
    {
        CheckRho(rho);
        if (quantile is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "a quantile is in (0, 1)");
        }
        return -Math.Log(1 - quantile) * meanServiceNs / (1 - rho);
    }

    /// <summary>M/M/1 mean response time: S / (1 − ρ).</summary>
    public static double MM1MeanResponseNs(double rho, double meanServiceNs)
    {
        CheckRho(rho);
        return meanServiceNs / (1 - rho);
    }

    /// <summary>M/D/1 mean response time: S + ρS / (2(1 − ρ)) (P–K with E[S²] = S²).</summary>
    public static double MD1MeanResponseNs(double rho, double serviceNs)
    {
        CheckRho(rho);
        return serviceNs + rho * serviceNs / (2 * (1 - rho));
    }

    /// <summary>
    /// M/D/1 waiting-time distribution, P(W ≤ t), by Erlang's formula (Franx 2001, "A simple solution
    /// for the M/D/c waiting time distribution", with c = 1): with λ the arrival rate and D the
    /// service time, P(W ≤ t) = (1 − ρ) Σ_{k=0}^{⌊t/D⌋} (λ(kD − t))^k / k! · e^{−λ(kD − t)}.
    /// The alternating sum loses precision for t beyond a few tens of D; it is exact enough below.
    /// </summary>
    public static double MD1WaitCdf(double rho, double serviceNs, double tNs)
    {
        CheckRho(rho);
        if (tNs < 0)
        {
            return 0;
        }
        double lambda = rho / serviceNs;
        int n = (int)Math.Floor(tNs / serviceNs);
        double sum = 0;
        for (int k = 0; k <= n; k++)
        {
            double x = lambda * (k * serviceNs - tNs);
            // x^k / k! · e^{-x}, in logs for the magnitude, the sign kept apart (x ≤ 0).
            double log = k == 0 ? 0 : k * Math.Log(-x) - LogFactorial(k);
            double term = Math.Exp(log - x) * (k % 2 == 0 ? 1 : -1);
            sum += term;
        }
        return Math.Clamp((1 - rho) * sum, 0, 1);
    }

    /// <summary>
    /// M/D/1 response-time quantile: D plus the smallest wait t with P(W ≤ t) ≥ q (P(W = 0) = 1 − ρ,
    /// so a quantile at or below 1 − ρ is D itself), found by bisection on <see cref="MD1WaitCdf"/>.
    /// NaN where that sum is no longer exact enough (a wait beyond <see cref="MD1ExactWaitServices"/>
    /// service times: past ρ ≈ 0.85 for p99).
    /// </summary>
    public static double MD1ResponseQuantileNs(double rho, double serviceNs, double quantile)
    {
        CheckRho(rho);
        if (quantile is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "a quantile is in (0, 1)");
        }
        if (MD1WaitCdf(rho, serviceNs, 0) >= quantile)
        {
            return serviceNs;
        }
        double hi = serviceNs;
        while (MD1WaitCdf(rho, serviceNs, hi) < quantile)
        {
            hi *= 2;
            if (hi > MD1ExactWaitServices * serviceNs)
            {
                return double.NaN;
            }
        }
        double lo = 0;
        // The CDF is a step-free continuous function past 0: 60 halvings pin the quantile to the float.
        for (int i = 0; i < 60; i++)
        {
            double mid = (lo + hi) / 2;
            if (MD1WaitCdf(rho, serviceNs, mid) >= quantile)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }
        return serviceNs + hi;
    }

    /// <summary>Waits up to this many service times are within the alternating sum's precision.</summary>
    public const double MD1ExactWaitServices = 16;

    /// <summary>M/G/1 mean waiting time by Pollaczek–Khinchine: λE[S²] / (2(1 − ρ)), with λ = ρ / E[S].</summary>
    public static double MG1MeanWaitNs(double rho, double meanServiceNs, double secondMomentNs2)
    {
        CheckRho(rho);
        double lambda = rho / meanServiceNs;
        return lambda * secondMomentNs2 / (2 * (1 - rho));
    }

    /// <summary>M/G/1 mean response time for a workload: E[S] + P–K waiting.</summary>
    public static double MG1MeanResponseNs(double rho, Workload workload) =>
        workload.MeanServiceNs + MG1MeanWaitNs(rho, workload.MeanServiceNs, SecondMomentNs2(workload));

    /// <summary>E[S²] of a workload: a fixed type contributes m², an exponential one 2m².</summary>
    public static double SecondMomentNs2(Workload workload)
    {
        double total = workload.Types.Sum(t => t.Weight);
        return workload.Types.Sum(t => t.Weight / total * t.MeanNs * t.MeanNs * (t.Shape == ServiceShape.Exponential ? 2 : 1));
    }

    /// <summary>
    /// Erlang C: the probability that an arrival waits in M/M/c with offered traffic a = λ/μ
    /// erlangs (a &lt; c). From Erlang B's recursion B(k) = aB(k−1) / (k + aB(k−1)), which is stable
    /// for any c, then C = B / (1 − (a/c)(1 − B)).
    /// </summary>
    public static double ErlangC(int servers, double offeredErlangs)
    {
        if (servers < 1 || offeredErlangs < 0 || offeredErlangs >= servers)
        {
            throw new ArgumentOutOfRangeException(nameof(offeredErlangs), offeredErlangs, "Erlang C needs 0 ≤ a < c");
        }
        double b = 1;
        for (int k = 1; k <= servers; k++)
        {
            b = offeredErlangs * b / (k + offeredErlangs * b);
        }
        double rho = offeredErlangs / servers;
        return b / (1 - rho * (1 - b));
    }

    /// <summary>M/M/c mean waiting time: C(c, cρ) · S / (c(1 − ρ)).</summary>
    /// <param name="servers">c.</param>
    /// <param name="rho">Per-server utilization.</param>
    /// <param name="meanServiceNs">S.</param>
    public static double MMcMeanWaitNs(int servers, double rho, double meanServiceNs)
    {
        CheckRho(rho);
        return ErlangC(servers, servers * rho) * meanServiceNs / (servers * (1 - rho));
    }

    /// <summary>M/G/1 under processor sharing: every request's expected slowdown is 1 / (1 − ρ),
    /// whatever the service distribution (so the mean slowdown is too).</summary>
    public static double PSMeanSlowdown(double rho)
    {
        CheckRho(rho);
        return 1 / (1 - rho);
    }

    private static double LogFactorial(int k)
    {
        double s = 0;
        for (int i = 2; i <= k; i++)
        {
            s += Math.Log(i);
        }
        return s;
    }

    private static void CheckRho(double rho)
    {
        if (rho is < 0 or >= 1 || double.IsNaN(rho))
        {
            throw new ArgumentOutOfRangeException(nameof(rho), rho, "a stable queue needs 0 ≤ ρ < 1");
        }
    }
}
