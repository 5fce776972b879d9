import type { Signal } from '../../schemas/types.generated';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import { TickflowError } from '../runtime/errors';
import type { InputRecord, OutputRecord, Stage, StageResult } from '../runtime/stage';

/**
 * route: signals.v1 (keyed by instrument) -> risk.signals.v1 (keyed by account). The key change is a
 * hop through a topic (DESIGN.md): risk is keyed by account so one instance sees a whole account.
 * Each accepted signal is copied once to every account subscribed to its strategy, in the order of
 * the `accounts` setting; a signal no account takes is dropped here (it is in QuestDB `signals`).
 * Stateless.
 */
export const ROUTE_CONFIG = {
  accounts: {
    type: 'list',
    default: ['paper-1:*'],
    description:
      'account:strategy+strategy (or account:* for every strategy), one entry per account, e.g. paper-1:ema-cross-rsi+breakout',
  },
} as const satisfies ConfigSchema;

export type RouteConfig = ConfigOf<typeof ROUTE_CONFIG>;

export const ROUTED_OUTPUT = 'risk.signals.v1';

interface Subscription {
  readonly account: string;
  readonly strategies: ReadonlySet<string> | 'all';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The subscriptions of `accounts`, or a CONFIG error naming the entry that cannot work. */
export function parseSubscriptions(accounts: readonly string[]): Subscription[] {
  const seen = new Set<string>();
  return accounts.map((entry) => {
    const [account, strategies, ...rest] = entry.split(':');
    const bad = (why: string): TickflowError =>
      new TickflowError(
        'CONFIG',
        `accounts: '${entry}' ${why}`,
        'write account:strategy+strategy or account:*, e.g. --set route.accounts=paper-1:*,paper-2:ema-cross-rsi',
      );
    if (rest.length > 0 || strategies === undefined) throw bad('is not account:strategies');
    if (!NAME.test(account)) throw bad(`has an account name that is not 1-64 letters, digits, '.', '_' or '-'`);
    if (seen.has(account)) throw bad(`names account ${account} twice`);
    seen.add(account);
    if (strategies === '*') return { account, strategies: 'all' };
    const list = strategies.split('+');
    if (list.some((s) => !NAME.test(s))) throw bad('has an empty or invalid strategy name');
    return { account, strategies: new Set(list) };
  });
}

export function routeStage(config: RouteConfig): Stage<Signal> {
  const subscriptions = parseSubscriptions(config.accounts);
  return {
    name: 'route',
    inputs: ['signals.v1'],
    outputs: [ROUTED_OUTPUT],
    process(batch: readonly InputRecord<Signal>[]): StageResult {
      const out: OutputRecord[] = [];
      for (const { value: signal } of batch) {
        if (signal.status !== 'ACCEPTED') continue;
        for (const s of subscriptions)
          if (s.strategies === 'all' || s.strategies.has(signal.strategy))
            out.push({ topic: ROUTED_OUTPUT, key: s.account, value: signal });
      }
      return { out, failed: [] };
    },
  };
}
