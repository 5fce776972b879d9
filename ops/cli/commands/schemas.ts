import fs from 'node:fs';
import type { CommandDef } from '../args';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { generateTypes, generatedPath, writeTypes } from '../../schemas/codegen';
import { checkCatalog, registerCatalog } from '../../schemas/registry';

/** `tickflow schemas register|check|codegen`: the Avro schemas against the registry, and the generated types. */
export const SCHEMA_COMMANDS: Readonly<Record<string, CommandDef>> = {
  register: {
    spec: { usage: 'schemas register', positionals: [0, 0], flags: {} },
    run: async () => {
      for (const r of await registerCatalog())
        process.stdout.write(`${r.subject.padEnd(32)} id ${r.id} version ${r.version ?? '?'}\n`);
      return 0;
    },
  },
  check: {
    spec: { usage: 'schemas check', positionals: [0, 0], flags: {} },
    run: async () => {
      let bad = 0;
      for (const r of await checkCatalog()) {
        if (r.problems.length > 0) {
          bad += 1;
          process.stdout.write(
            `${r.subject}: INCOMPATIBLE with the registered version\n  ${r.problems.join('\n  ')}\n`,
          );
        } else process.stdout.write(`${r.subject}: ${r.registered ? 'compatible' : 'new (not registered yet)'}\n`);
      }
      if (bad > 0) {
        throw new TickflowError(
          'SCHEMA_INCOMPATIBLE',
          `${bad} schema(s) would break BACKWARD compatibility`,
          'give new fields a default, keep field types readable, or publish a new topic version (<name>.v<N+1>)',
        );
      }
      return 0;
    },
  },
  codegen: {
    spec: {
      usage: 'schemas codegen [--check]',
      positionals: [0, 0],
      flags: {
        check: {
          type: 'boolean',
          description: 'fail if schemas/types.generated.ts is out of date instead of writing it',
        },
      },
    },
    run: async (p) => {
      if (p.flags.check) {
        const current = fs.existsSync(generatedPath()) ? fs.readFileSync(generatedPath(), 'utf8') : '';
        if (current !== generateTypes())
          throw new TickflowError(
            'SCHEMA_INVALID',
            `${generatedPath()} is out of date with schemas/*.avsc`,
            'run `tickflow schemas codegen` and commit the result',
          );
        process.stdout.write('schemas/types.generated.ts is up to date\n');
        return 0;
      }
      process.stdout.write(`wrote ${writeTypes()}\n`);
      return 0;
    },
  },
};
