import path from 'node:path';
import type { CommandDef, CommandGroup } from '../args';
import { REPO_ROOT } from '../../../pipelines/runtime/settings';
import { DASHBOARDS_DIR, staleDashboards, writeDashboards } from '../../grafana/build';

/**
 * `tickflow grafana build [--check]`: writes the dashboards of ops/grafana (dashboards as code) to
 * ops/grafana/dashboards/*.json; `--check` writes nothing and exits 1 naming the files a build would change.
 */
export const GRAFANA_BUILD_COMMAND: CommandDef = {
  spec: {
    usage: 'grafana build [--check]',
    positionals: [0, 0],
    flags: {
      check: {
        type: 'boolean',
        description: 'write nothing; exit 1 naming the dashboard files that differ from a fresh build',
      },
    },
  },
  run: async (p) => {
    const where = path.relative(REPO_ROOT, DASHBOARDS_DIR);
    if (p.flags.check) {
      const stale = staleDashboards();
      if (stale.length === 0) {
        process.stdout.write(`${where}: every dashboard matches its source\n`);
        return 0;
      }
      process.stderr.write(
        `${where}: these files differ from a fresh build: ${stale.join(', ')}\n` +
          '  run `tickflow grafana build` and commit the result (a file no dashboard writes: delete it)\n',
      );
      return 1;
    }
    const changed = writeDashboards();
    process.stdout.write(changed.length === 0 ? `${where}: up to date\n` : `${where}: wrote ${changed.join(', ')}\n`);
    return 0;
  },
};

export const GRAFANA_COMMANDS: Readonly<Record<string, CommandDef>> = { build: GRAFANA_BUILD_COMMAND };

/** For ops/cli/command-list.ts: `grafana: GRAFANA_COMMAND`. */
export const GRAFANA_COMMAND: CommandGroup = { subcommands: GRAFANA_COMMANDS };
