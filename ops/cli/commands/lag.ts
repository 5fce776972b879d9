import type { CommandDef } from '../args';
import { namespaceFlag } from '../args';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { formatLag, lagReport, pausedByGroup } from '../../run/lag';

/** `tickflow lag`: every stage's and sink's lag per partition, its group state and its last commit. */
export const LAG_COMMAND: CommandDef = {
  spec: {
    usage: 'lag [--partitions] [--json] [--namespace P.] [--health URL ...]',
    positionals: [0, 0],
    flags: {
      partitions: { type: 'boolean', description: 'one line per input partition under each stage' },
      json: { type: 'boolean', description: 'the report as JSON (committedAt in ms since the epoch)' },
      namespace: { type: 'string', description: 'the topic prefix the pipeline runs under (run --namespace)' },
      health: {
        type: 'string',
        multiple: true,
        description:
          "a running process's /healthz URL, for its paused partitions (repeatable; default http://127.0.0.1:9464/healthz, or TICKFLOW_METRICS_PORT's)",
      },
    },
  },
  run: async (p) => {
    const prefix = namespaceFlag(p.flags.namespace) ?? '';
    await ensureKafkaReachable();
    const admin = createKafka('tickflow-lag').admin();
    await admin.connect();
    try {
      const health = (p.flags.health as string[] | undefined) ?? [
        `http://127.0.0.1:${process.env.TICKFLOW_METRICS_PORT ?? 9464}/healthz`,
      ];
      const report = await lagReport(admin, prefix, await pausedByGroup(health));
      if (p.flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else if (report.length === 0)
        process.stdout.write(
          `no stage or sink has a consumer group${prefix ? ` in namespace ${prefix}` : ''} yet: start one with \`tickflow run\`\n`,
        );
      else process.stdout.write(`${formatLag(report, { partitions: Boolean(p.flags.partitions) })}\n`);
      return 0;
    } finally {
      await admin.disconnect();
    }
  },
};
