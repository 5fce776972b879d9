/** Bar intervals as the contract writes them (md.bars.v1 `interval`): a count and a unit, s, m, h or d. */
const UNITS: Readonly<Record<string, number>> = { s: 1_000_000, m: 60_000_000, h: 3_600_000_000, d: 86_400_000_000 };

/** `1s`, `15s`, `1m`, `5m`, `1h`, `1d` to microseconds; undefined when it is not an interval. */
export function intervalMicros(text: string): number | undefined {
  const match = /^([1-9]\d*)([smhd])$/.exec(text);
  if (!match) return undefined;
  const micros = Number(match[1]) * UNITS[match[2]];
  // Buckets must tile a day, so that every instrument's buckets line up with the clock.
  return UNITS.d % micros === 0 || micros % UNITS.d === 0 ? micros : undefined;
}
