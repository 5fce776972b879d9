import type { CommandDef, Parsed } from '../args';
import { namespaceFlag } from '../args';
import { ACCOUNT_ID, INSTRUMENT_ID } from '../../run/risk-commands';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { publishRiskCommand } from '../../run/risk-commands';

/**
 * `tickflow halt` and `tickflow resume`: act on the running system through risk.commands.v1. Risk
 * applies them in order with the account's other inputs: a halt cancels every open order of the
 * scope (and with --flatten closes every position), a resume returns it to ACTIVE and clears its
 * breakers. Both are kept in risk's state (so no restart undoes them) and in the audit trail.
 */

function common(
  p: Parsed,
  action: 'HALT' | 'RESUME',
): { account?: string; instrumentId?: string; prefix?: string; reason: string } {
  const reason = p.flags.reason === undefined ? '' : String(p.flags.reason).trim();
  if (reason === '')
    throw new TickflowError(
      'USAGE',
      `${action.toLowerCase()} needs --reason: every halt and resume is audited with who, why and when`,
      `for example tickflow ${action.toLowerCase()} --reason "feed outage on BINANCE"`,
    );
  if (reason.length > 500) throw new TickflowError('USAGE', '--reason is over 500 characters', 'say it shorter');
  const account = p.flags.account === undefined ? undefined : String(p.flags.account);
  if (account !== undefined && !ACCOUNT_ID.test(account))
    throw new TickflowError(
      'USAGE',
      `--account '${account}' is not an account name`,
      "use 1-64 letters, digits, '.', '_' or '-', as in route.accounts",
    );
  const instrumentId = p.flags.instrument === undefined ? undefined : String(p.flags.instrument);
  if (instrumentId !== undefined && !INSTRUMENT_ID.test(instrumentId))
    throw new TickflowError(
      'USAGE',
      `--instrument '${instrumentId}' is not an instrument id`,
      'use VENUE:SYMBOL as in the topics, e.g. --instrument BINANCE-FUT:BTCUSDT',
    );
  const prefix = namespaceFlag(p.flags.namespace);
  return { account, instrumentId, prefix, reason };
}

export const FLAGS = {
  account: { type: 'string', description: 'only this account (default: every account)' },
  instrument: {
    type: 'string',
    description: 'only this instrument (VENUE:SYMBOL) of the account or of every account (default: everything)',
  },
  reason: { type: 'string', description: 'why (required; kept in the audit trail)' },
  actor: { type: 'string', description: 'who (default: user@host)' },
  namespace: { type: 'string', description: 'the topic prefix the pipeline runs under (run --namespace)' },
} as const;

export async function send(p: Parsed, action: 'HALT' | 'RESUME'): Promise<number> {
  const { account, instrumentId, prefix, reason } = common(p, action);
  await ensureKafkaReachable();
  const kafka = createKafka(`tickflow-${action.toLowerCase()}`);
  const command = await publishRiskCommand(kafka, new AvroCodec(), {
    action,
    account,
    instrumentId,
    prefix,
    reason,
    flatten: p.flags.flatten === true,
    actor: p.flags.actor === undefined ? undefined : String(p.flags.actor),
  });
  process.stdout.write(
    `${action === 'HALT' ? 'halt' : 'resume'} ${command.commandId} sent for ${instrumentId ? `${instrumentId} of ` : ''}${account ?? 'every account'}${command.flatten ? ' (flatten)' : ''} by ${command.actor}: ${reason}\n`,
  );
  return 0;
}

export const HALT_COMMAND: CommandDef = {
  spec: {
    usage: 'halt [--account A] [--instrument VENUE:SYMBOL] [--flatten] --reason "..." [--actor WHO] [--namespace P.]',
    positionals: [0, 0],
    flags: {
      ...FLAGS,
      flatten: { type: 'boolean', description: 'also close every position with reduce-only market orders' },
    },
  },
  run: (p) => send(p, 'HALT'),
};
