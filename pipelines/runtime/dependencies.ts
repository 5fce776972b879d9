import { logger } from './log';

/**
 * What the servers tickflow depends on look like from this process: each call's outcome is
 * reported here, so a server that stops answering is an outage that shows in health (/healthz,
 * /readyz), in metrics (`tickflow_dependency_up`, `tickflow_dependency_failures_total`) and in the log
 * (once when it goes down, every minute while it stays down, once when it is back), never a silent hang.
 */
export type Dependency = 'kafka' | 'schema-registry' | 'questdb';

export interface DependencyState {
  up: boolean;
  /** When the current state began (ISO time). */
  since: string;
  failures: number;
  lastError?: string;
}

const log = logger('dependencies');
const states = new Map<Dependency, DependencyState & { sinceMs: number; loggedAt: number }>();

const REMIND_MS = 60_000;

export function reportOk(dependency: Dependency): void {
  const state = states.get(dependency);
  if (state?.up !== false) {
    if (!state)
      states.set(dependency, {
        up: true,
        since: new Date().toISOString(),
        sinceMs: Date.now(),
        failures: 0,
        loggedAt: 0,
      });
    return;
  }
  log.info(`${dependency} answers again after ${((Date.now() - state.sinceMs) / 1000).toFixed(1)} s down`);
  Object.assign(state, { up: true, since: new Date().toISOString(), sinceMs: Date.now() });
}

export function reportFailure(dependency: Dependency, error: Error): void {
  const message = error.message.slice(0, 300);
  const state = states.get(dependency);
  const now = Date.now();
  if (!state || state.up) {
    log.warn(`${dependency} is not answering (calls time out or fail; retried with backoff): ${message}`);
    const failures = (state?.failures ?? 0) + 1;
    states.set(dependency, {
      up: false,
      since: new Date(now).toISOString(),
      sinceMs: now,
      failures,
      lastError: message,
      loggedAt: now,
    });
    return;
  }
  state.failures += 1;
  state.lastError = message;
  if (now - state.loggedAt >= REMIND_MS) {
    state.loggedAt = now;
    log.warn(
      `${dependency} still not answering after ${((now - state.sinceMs) / 1000).toFixed(0)} s (${state.failures} failed calls): ${message}`,
    );
  }
}

/** Every dependency seen so far, by name. */
export function dependencyStates(): Record<string, DependencyState> {
  const result: Record<string, DependencyState> = {};
  for (const [name, { up, since, failures, lastError }] of states)
    result[name] = { up, since, failures, ...(lastError ? { lastError } : {}) };
  return result;
}

/** Names of the dependencies that are down now. */
export function dependenciesDown(): Dependency[] {
  return [...states].filter(([, s]) => !s.up).map(([name]) => name);
}
