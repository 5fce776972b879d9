/**
 * Return analytics for risk (float64: they estimate, they do not keep books). Inputs are the marks'
 * log returns over consecutive `intervalMs` buckets, oldest first, the newest ending at `end`.
 */
export interface ReturnSeries {
  readonly returns: readonly number[];
  readonly end: number;
  readonly intervalMs: number;
}

/**
 * Aligns series on common bucket ends: only series with the first series' interval take part; each
 * is cut to end at the earliest `end` among them and to the shortest common length. Returns one
 * array per input (empty for a series that cannot be aligned), all of the same length.
 */
export function align(series: readonly (ReturnSeries | undefined)[]): number[][] {
  const first = series.find((s) => s !== undefined);
  if (!first) return series.map(() => []);
  const usable = series.map((s) => (s && s.intervalMs === first.intervalMs && s.intervalMs > 0 ? s : undefined));
  const ends = usable.filter((s): s is ReturnSeries => s !== undefined).map((s) => s.end);
  const commonEnd = Math.min(...ends);
  const cut = usable.map((s) => {
    if (!s) return undefined;
    const drop = Math.round(((s.end - commonEnd) * 1) / (s.intervalMs * 1000));
    return drop >= s.returns.length ? [] : s.returns.slice(0, s.returns.length - drop);
  });
  const length = Math.min(...cut.filter((c): c is number[] => c !== undefined).map((c) => c.length));
  return cut.map((c) => (c ? c.slice(c.length - length) : []));
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); NaN under two observations. */
export function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Pearson correlation of two equally long series; NaN when either is constant or too short. */
export function correlation(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) return NaN;
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * One-interval value at risk of a portfolio of market values `exposures` (signed money per
 * instrument) over aligned log-return columns `returns[i]` (same length for every instrument).
 * - historical: the P&L of each past interval, sum(e_i x (exp(r_i) - 1)); VaR is the loss at rank
 *   ceil(n x (1 - confidence)) counted from the worst (the 1st worst of 100 at 99%, the 5th at 95%);
 * - parametric: z(confidence) x sqrt(e' S e) with S the sample covariance of the log returns (mean zero P&L).
 * Never negative (0 when the portfolio gains in every case). NaN when there are no observations.
 */
export function valueAtRisk(
  exposures: readonly number[],
  returns: readonly (readonly number[])[],
  method: 'historical' | 'parametric',
  confidence: number,
): number {
  const n = returns.length === 0 ? 0 : returns[0].length;
  if (n === 0) return exposures.every((e) => e === 0) ? 0 : NaN;
  if (method === 'historical') {
    const pnl: number[] = [];
    for (let t = 0; t < n; t++) {
      let sum = 0;
      for (let i = 0; i < exposures.length; i++) sum += exposures[i] * Math.expm1(returns[i][t]);
      pnl.push(sum);
    }
    pnl.sort((x, y) => x - y);
    const rank = Math.max(1, Math.ceil(n * (1 - confidence) - 1e-9));
    return Math.max(0, -pnl[rank - 1]);
  }
  if (n < 2) return NaN;
  const means = returns.map((r) => mean(r));
  let variance = 0;
  for (let i = 0; i < exposures.length; i++) {
    for (let j = 0; j < exposures.length; j++) {
      let cov = 0;
      for (let t = 0; t < n; t++) cov += (returns[i][t] - means[i]) * (returns[j][t] - means[j]);
      variance += exposures[i] * exposures[j] * (cov / (n - 1));
    }
  }
  return normalQuantile(confidence) * Math.sqrt(Math.max(0, variance));
}
