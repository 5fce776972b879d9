import type { CommandDef } from '../args';
import { FLAGS, send } from './halt';

/** `tickflow resume`: the scope back to ACTIVE, its breakers cleared; audited like a halt (halt.ts). */
export const RESUME_COMMAND: CommandDef = {
  spec: {
    usage: 'resume [--account A] [--instrument VENUE:SYMBOL] --reason "..." [--actor WHO] [--namespace P.]',
    positionals: [0, 0],
    flags: { ...FLAGS },
  },
  run: (p) => send(p, 'RESUME'),
};
