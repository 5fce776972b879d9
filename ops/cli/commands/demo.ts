import type { CommandDef } from '../args';
import { positiveInt } from '../args';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { demo } from '../../demo/demo';

/** `tickflow demo`: the stack, the pipeline and the bundled data, then a summary. */
export const DEMO_COMMAND: CommandDef = {
  spec: {
    usage: 'demo [--until-idle] [--synthetic-rate N]',
    positionals: [0, 0],
    flags: {
      'until-idle': { type: 'boolean', description: 'exit 0 once the sample data is drained' },
      'synthetic-rate': {
        type: 'string',
        description: 'after the summary, stream a live synthetic market at N events/s until Ctrl-C',
      },
    },
  },
  run: async (p) => {
    const syntheticRate = positiveInt('synthetic-rate', p.flags['synthetic-rate']);
    if (syntheticRate !== undefined && p.flags['until-idle'])
      throw new TickflowError(
        'USAGE',
        '--synthetic-rate streams until Ctrl-C, so it cannot be used with --until-idle',
        'drop one of them',
      );
    await demo({ untilIdle: Boolean(p.flags['until-idle']), syntheticRate });
    return 0;
  },
};
