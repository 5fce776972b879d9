import { Decimal } from '../../schemas/decimal';
import type { AlgoPlan } from './orders';

/**
 * TWAP/VWAP schedules. A parent of `quantity` over `durationMs` releases `ceil(duration / interval)`
 * slices at start, start + interval, ...; slice i brings the parent's cumulative target to
 * targets[i]. Targets are rounded down to the quantity's own decimal places (so a 10-unit parent in
 * 3 slices asks 3, 3, 4) and the last target is the whole quantity. What a slice does not fill rolls
 * into the next (the next child asks target - filled); at `end` the rest expires.
 */
export function slicesOf(durationMs: number, sliceIntervalMs: number): number {
  return Math.ceil(durationMs / sliceIntervalMs);
}

/** Weights per slice: equal (TWAP) or the volume curve stretched onto the slices (VWAP). */
export function sliceWeights(slices: number, curve: readonly number[] | null): number[] {
  if (curve === null) return new Array<number>(slices).fill(1);
  const weights: number[] = [];
  for (let i = 0; i < slices; i++) weights.push(curve[Math.floor((i * curve.length) / slices)]);
  return weights;
}

export function algoPlan(
  start: number,
  quantity: Decimal,
  durationMs: number,
  sliceIntervalMs: number,
  curve: readonly number[] | null,
): AlgoPlan {
  const slices = slicesOf(durationMs, sliceIntervalMs);
  const weights = sliceWeights(slices, curve).map((w) => new Decimal(String(w)));
  const total = weights.reduce((a, b) => a.add(b), new Decimal(0));
  const places = quantity.decimalPlaces();
  const targets: string[] = [];
  let cumulative = new Decimal(0);
  for (let i = 0; i < slices; i++) {
    cumulative = cumulative.add(weights[i]);
    const target =
      i === slices - 1 ? quantity : quantity.mul(cumulative).div(total).toDecimalPlaces(places, Decimal.ROUND_DOWN);
    targets.push(target.toFixed());
  }
  return {
    start,
    intervalMicros: sliceIntervalMs * 1000,
    end: start + durationMs * 1000,
    slices,
    targets,
    next: 0,
  };
}

/** When the plan next needs attention: its next slice, its end, or never (null). */
export function nextAlgoTime(plan: AlgoPlan): number | null {
  if (plan.next < plan.slices) return plan.start + plan.next * plan.intervalMicros;
  if (plan.next === plan.slices) return plan.end;
  return null;
}

/** Whether `curve` can weight slices: finite weights >= 0 with a positive sum. */
export function curveProblem(curve: readonly number[]): string | undefined {
  if (curve.length === 0) return 'volumeCurve is empty';
  if (curve.some((w) => !Number.isFinite(w) || w < 0)) return 'volumeCurve has a weight that is not a number >= 0';
  if (!curve.some((w) => w > 0)) return 'volumeCurve has no positive weight';
  return undefined;
}
