import type { CommandDef } from '../args';
import { namespaceFlag } from '../args';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka } from '../../../pipelines/runtime/kafka';
import { configuredToken } from '../../console/security';
import { startConsole } from '../../console/server';

/**
 * `tickflow console`: the web console against the configured stack, without a pipeline in this process (the pipeline
 * view then shows what QuestDB holds). The token comes from TICKFLOW_CONSOLE_TOKEN or TICKFLOW_CONSOLE_TOKEN_FILE;
 * on a loopback address without one a random token is made and printed, since halt and resume always need one.
 */
export const CONSOLE_COMMAND: CommandDef = {
  spec: {
    usage: 'console [--host H] [--port N] [--namespace P.]',
    positionals: [0, 0],
    flags: {
      host: { type: 'string', description: 'address to listen on (default 127.0.0.1; any other needs a token)' },
      port: { type: 'string', description: 'port (default 8088; 0 = any free port)' },
      namespace: { type: 'string', description: 'the topic prefix the pipeline runs under (run --namespace)' },
    },
  },
  run: async (p) => {
    const portText = p.flags.port === undefined ? '8088' : String(p.flags.port);
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port > 65535)
      throw new TickflowError(
        'USAGE',
        `--port '${portText}' is not a port`,
        'e.g. --port 8088, or 0 for any free port',
      );
    const prefix = namespaceFlag(p.flags.namespace);
    const server = await startConsole({
      kafka: createKafka('tickflow-console'),
      codec: new AvroCodec(),
      host: p.flags.host === undefined ? undefined : String(p.flags.host),
      port,
      prefix,
      token: configuredToken(),
    });
    process.stdout.write(`tickflow console at ${server.url}\n`);
    if (server.tokenGenerated)
      process.stdout.write(
        `halt and resume need this token (made for this run; set TICKFLOW_CONSOLE_TOKEN to choose one): ${server.token}\n`,
      );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
