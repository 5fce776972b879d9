import type { Server } from 'node:http';
import express from 'express';
import type { RuntimeMetrics } from './metrics';
import { logger } from './log';

const log = logger('http');

export interface Health {
  /** Ready: every runner joined its group and restored its state. */
  ready(): boolean;
  /** Details for /readyz and /healthz. */
  details(): Record<string, unknown>;
}

/**
 * Serves /metrics (Prometheus text), /healthz (the process is alive and its event loop turns) and
 * /readyz (consuming with state restored). Port 0 picks a free port; a taken port falls back to a
 * free one, logged, so several instances can run on one machine.
 */
export async function serveHttp(
  metrics: RuntimeMetrics,
  health: Health,
  port: number,
): Promise<{ server: Server; port: number }> {
  const app = express();
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...health.details() });
  });
  app.get('/readyz', (_req, res) => {
    res.status(health.ready() ? 200 : 503).json({ ready: health.ready(), ...health.details() });
  });
  const listen = (p: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = app.listen(p, '127.0.0.1');
      server.once('listening', () => resolve(server));
      server.once('error', reject);
    });
  let server: Server;
  try {
    server = await listen(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    server = await listen(0);
    log.warn(`port ${port} is taken; serving metrics on another port`);
  }
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  log.info(`metrics on http://127.0.0.1:${bound}/metrics, health on /healthz and /readyz`);
  return { server, port: bound };
}
