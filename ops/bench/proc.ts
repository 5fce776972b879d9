import fs from 'node:fs';

/** CPU seconds (user + system) process `pid` has used so far, from /proc (Linux); 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Shares of one core used by named processes between two calls: `sample()` returns, per name, the
 * CPU seconds used since the previous call divided by the wall seconds between them, in percent.
 */
export class CpuShares {
  private last: { at: number; cpu: Map<string, number> };

  constructor(private readonly pids: ReadonlyMap<string, number>) {
    this.last = this.read();
  }

  private read(): { at: number; cpu: Map<string, number> } {
    return { at: Date.now(), cpu: new Map([...this.pids].map(([name, pid]) => [name, processCpuSeconds(pid)])) };
  }

  sample(): Record<string, number> {
    const now = this.read();
    const wall = Math.max(0.001, (now.at - this.last.at) / 1000);
    const shares: Record<string, number> = {};
    for (const [name, cpu] of now.cpu)
      shares[name] = Number((((cpu - (this.last.cpu.get(name) ?? 0)) / wall) * 100).toFixed(1));
    this.last = now;
    return shares;
  }
}
