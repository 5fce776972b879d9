import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { isTickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';
import { pipelineSource } from './pipeline-view';
import { configuredToken } from './security';
import type { ConsoleServer } from './server';
import { startConsole } from './server';

const log = logger('console');

/** The console's port: TICKFLOW_CONSOLE_PORT, else 8088. */
export function consolePort(): number {
  const text = process.env.TICKFLOW_CONSOLE_PORT ?? '8088';
  const port = Number(text);
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 8088;
}

/**
 * Serves the console beside a pipeline running in this process (`tickflow demo`, `run --console`):
 * on 127.0.0.1, its preferred port or, when that is taken, any free one; logs the URL and, when no
 * TICKFLOW_CONSOLE_TOKEN is configured, the token made for this run that halt and resume need.
 */
export async function consoleBeside(
  pipeline: Parameters<typeof pipelineSource>[0],
  kafka: Kafka,
  codec: AvroCodec,
  options: { prefix?: string; port?: number } = {},
): Promise<ConsoleServer> {
  const base = {
    kafka,
    codec,
    prefix: options.prefix ?? '',
    token: configuredToken(),
    pipeline: pipelineSource(pipeline, options.prefix ?? ''),
  };
  let server: ConsoleServer;
  try {
    server = await startConsole({ ...base, port: options.port ?? consolePort() });
  } catch (error) {
    if (!isTickflowError(error, 'PORT_TAKEN')) throw error;
    server = await startConsole({ ...base, port: 0 });
    log.warn(`port ${options.port ?? consolePort()} is taken; the console is on another port`);
  }
  log.info(`console at ${server.url}`);
  return server;
}
