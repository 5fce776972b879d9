import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import path from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Kafka } from 'kafkajs';
import { sql as questdbSql } from '../../connectors/questdb/sql';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { TickflowError, isTickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';
import { REPO_ROOT, endpoints } from '../../pipelines/runtime/settings';
import { publishRiskCommand } from '../run/risk-commands';
import { openApiDocument } from './openapi';
import type { PipelineSource, PipelineView } from './pipeline-view';
import { RateTracker, staticRunners, storeView } from './pipeline-view';
import type { Row, Sql } from './queries';
import {
  INSTRUMENT_SQL,
  auditSql,
  barsSql,
  decisionRow,
  decisionsSql,
  fillsSql,
  latestPnlSql,
  ordersSql,
  pnlSql,
  positionsSql,
  qualitySql,
  qualitySummarySql,
  rowsOf,
  signalsSql,
} from './queries';
import {
  RateLimiter,
  SECURITY_HEADERS,
  authorizeAction,
  authorizeRead,
  checkToken,
  generateToken,
  hostAllowed,
  isLoopback,
  originAllowed,
  tokenId,
} from './security';
import { StreamHub } from './stream';
import type { Query } from './validation';
import {
  ACCOUNT,
  AUDIT_KINDS,
  ApiError,
  INSTRUMENT,
  INTERVAL,
  ORDER_STATUSES,
  SIGNAL_STATUSES,
  UPPER_WORD,
  actionBody,
  bool,
  limit,
  matching,
  oneOf,
  onlyKnown,
  timeRange,
} from './validation';

const log = logger('console');

export interface ConsoleOptions {
  /** For halt and resume (published to `${prefix}risk.commands.v1`). */
  kafka: Kafka;
  codec: AvroCodec;
  /** Default: endpoints().questdbUrl. */
  questdbUrl?: string;
  /** Default 127.0.0.1. Any other than a loopback address needs `token`. */
  host?: string;
  /** Default 8088; 0 = any free port. */
  port?: number;
  /** The bearer token. On a loopback host without one, a random one is made (returned, for the caller to print). */
  token?: string;
  /** Topic prefix of the pipeline's namespace ('' or e.g. `exp1.`). */
  prefix?: string;
  /** The running pipeline in this process, when there is one (pipelineSource in ./pipeline-view.ts). */
  pipeline?: PipelineSource;
  /** Host header values (host:port) accepted besides the loopback names; for a console behind a proxy. */
  allowedHosts?: string[];
  /** Seams for tests: SQL (default QuestDB's /exec) and publishing a risk command. */
  sql?: Sql;
  publish?: typeof publishRiskCommand;
  limits?: {
    readsPerSecond?: number;
    readBurst?: number;
    actionsPerMinute?: number;
    actionBurst?: number;
    streamsPerClient?: number;
  };
  streamPollMs?: number;
  pipelineEventMs?: number;
  heartbeatMs?: number;
}

export interface ConsoleServer {
  url: string;
  port: number;
  /** The token in force (generated when none was given: `tokenGenerated`). */
  token: string;
  tokenGenerated: boolean;
  close(): Promise<void>;
}

export const PUBLIC_DIR = path.join(REPO_ROOT, 'ops', 'console', 'public');
export const CHARTS_FILE = path.join(
  path.dirname(require.resolve('lightweight-charts/package.json')),
  'dist',
  'lightweight-charts.standalone.production.mjs',
);

function clientKey(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

function sendError(res: Response, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res
    .status(error.status)
    .json({ error: error.code, message: error.message, ...(error.fix ? { fix: error.fix } : {}) });
}

/** Builds the express app and everything it serves; `startConsole` binds it. */
// One declaration of the routes, in the order the guards must run.
export function consoleApp(o: ConsoleOptions & { token: string; port: number }): {
  app: express.Express;
  hub: StreamHub;
  streams: Set<ServerResponse>;
  stop(): void;
} {
  const host = o.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const questdbUrl = o.questdbUrl ?? endpoints().questdbUrl;
  const sql: Sql = o.sql ?? ((query) => questdbSql(query, questdbUrl));
  const rows = async (query: string): Promise<Row[]> => rowsOf(await sql(query));
  const publish = o.publish ?? publishRiskCommand;
  const reads = new RateLimiter(o.limits?.readBurst ?? 40, o.limits?.readsPerSecond ?? 20);
  const actions = new RateLimiter(o.limits?.actionBurst ?? 5, (o.limits?.actionsPerMinute ?? 5) / 60);
  const streamsPerClient = o.limits?.streamsPerClient ?? 8;
  const hub = new StreamHub(sql, o.streamPollMs ?? 500, (error) => log.warn(`stream poll: ${error.message}`));
  const streams = new Set<ServerResponse>();
  const streamCount = new Map<string, number>();
  const rates = new RateTracker();
  const timers = new Set<NodeJS.Timeout>();

  let cached: { at: number; view: Promise<PipelineView> } | undefined;
  const pipelineView = (): Promise<PipelineView> => {
    const now = Date.now();
    if (cached && now - cached.at < 1000) return cached.view;
    const view = (async (): Promise<PipelineView> => {
      const store = await storeView(sql);
      if (o.pipeline) {
        const snapshot = await o.pipeline.describe();
        return {
          source: 'pipeline',
          note: null,
          at: new Date(now).toISOString(),
          namespace: snapshot.namespace,
          ready: snapshot.ready,
          runners: rates.views(snapshot.runners, now),
          dependencies: snapshot.dependencies,
          ...store,
        };
      }
      return {
        source: 'questdb',
        note: 'No pipeline runs in this process: the stages are shown with their inputs and outputs only; tables and feeds are what QuestDB holds. Run the console with `tickflow demo` or `tickflow run` for live rates, lag and health.',
        at: new Date(now).toISOString(),
        namespace: o.prefix ?? '',
        ready: null,
        runners: staticRunners(),
        dependencies: {},
        ...store,
      };
    })();
    cached = { at: now, view };
    view.catch(() => (cached = undefined));
    return view;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('Cache-Control', 'no-store');
    if (!hostAllowed(req.headers.host, { loopback, port: o.port, allowedHosts: o.allowedHosts }))
      return sendError(
        res,
        new ApiError(
          421,
          'WRONG_HOST',
          'this console does not answer to that host name',
          `use http://${host}:${o.port}/`,
        ),
      );
    const isAction = req.method === 'POST';
    const wait = (isAction ? actions : reads).take(clientKey(req));
    if (wait > 0)
      return sendError(
        res,
        new ApiError(429, 'RATE_LIMITED', 'too many requests', `retry after ${wait} s`, {
          'Retry-After': String(wait),
        }),
      );
    if (!isAction) authorizeRead({ authorization: req.headers.authorization, token: o.token, requireToken: !loopback });
    next();
  });

  app.get('/vendor/lightweight-charts.mjs', (_req, res) => {
    res.type('text/javascript');
    res.sendFile(CHARTS_FILE);
  });
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', dotfiles: 'deny', etag: false, lastModified: false }));

  const q = (req: Request, known: readonly string[]): Query => {
    const query = req.query as Query;
    onlyKnown(query, known);
    return query;
  };
  const instrument = (query: Query, required = false): string | undefined =>
    matching(query, 'instrument', INSTRUMENT, 'BINANCE-FUT:BTCUSDT', required);
  const account = (query: Query): string | undefined => matching(query, 'account', ACCOUNT, 'paper-1');

  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  app.get('/api/instruments', async (req, res) => {
    q(req, []);
    const [bars, signals, fills] = await Promise.all([
      rows(INSTRUMENT_SQL.bars),
      rows(INSTRUMENT_SQL.signals),
      rows(INSTRUMENT_SQL.fills),
    ]);
    const count = (list: Row[]): Map<string, number> => new Map(list.map((r) => [String(r.instrumentId), Number(r.n)]));
    const signalCount = count(signals);
    const fillCount = count(fills);
    const byId = new Map<
      string,
      { instrumentId: string; signals: number; fills: number; lastTs: string; intervals: Row[] }
    >();
    for (const b of bars) {
      const id = String(b.instrumentId);
      const entry = byId.get(id) ?? {
        instrumentId: id,
        signals: signalCount.get(id) ?? 0,
        fills: fillCount.get(id) ?? 0,
        lastTs: String(b.lastTs),
        intervals: [],
      };
      entry.intervals.push({ interval: b.interval, bars: Number(b.bars), firstTs: b.firstTs, lastTs: b.lastTs });
      if (String(b.lastTs) > entry.lastTs) entry.lastTs = String(b.lastTs);
      byId.set(id, entry);
    }
    const instruments = [...byId.values()].sort(
      (a, b) => b.fills - a.fills || b.signals - a.signals || b.lastTs.localeCompare(a.lastTs),
    );
    res.json({ instruments });
  });

  app.get('/api/marketdata', async (req, res) => {
    const query = q(req, ['instrument', 'interval', 'from', 'to', 'limit']);
    const id = instrument(query, true) as string;
    const interval = matching(query, 'interval', INTERVAL, '1m') ?? '1m';
    const bars = await rows(
      barsSql({ instrument: id, interval, ...timeRange(query), limit: limit(query, 1000, 10_000) }),
    );
    res.json({ instrumentId: id, interval, bars });
  });

  app.get('/api/signals', async (req, res) => {
    const query = q(req, ['instrument', 'status', 'from', 'to', 'limit']);
    const signals = await rows(
      signalsSql({
        instrument: instrument(query),
        status: oneOf(query, 'status', SIGNAL_STATUSES),
        ...timeRange(query),
        limit: limit(query, 100, 1000),
      }),
    );
    res.json({ signals });
  });

  app.get('/api/orders', async (req, res) => {
    const query = q(req, ['account', 'instrument', 'status', 'limit']);
    const status = oneOf(query, 'status', ['open', ...ORDER_STATUSES]);
    const orders = await rows(
      ordersSql({
        account: account(query),
        instrument: instrument(query),
        open: status === 'open',
        status: status === 'open' ? undefined : status,
        limit: limit(query, 100, 1000),
      }),
    );
    res.json({ orders });
  });

  app.get('/api/fills', async (req, res) => {
    const query = q(req, ['account', 'instrument', 'from', 'to', 'limit']);
    const fills = await rows(
      fillsSql({
        account: account(query),
        instrument: instrument(query),
        ...timeRange(query),
        limit: limit(query, 100, 1000),
      }),
    );
    res.json({ fills });
  });

  app.get('/api/positions', async (req, res) => {
    const query = q(req, ['account', 'instrument', 'open']);
    const open = bool(query, 'open');
    const positions = (await rows(positionsSql({ account: account(query), instrument: instrument(query) }))).filter(
      (p) => !open || !/^-?0(\.0*)?$/.test(String(p.quantity)),
    );
    res.json({ positions });
  });

  app.get('/api/pnl', async (req, res) => {
    const query = q(req, ['account', 'from', 'to', 'limit']);
    const selected = account(query);
    const range = timeRange(query);
    const [curve, latest] = await Promise.all([
      rows(pnlSql({ account: selected, ...range, limit: limit(query, 2000, 20_000) })),
      rows(latestPnlSql({ account: selected })),
    ]);
    const accounts = latest.map((l) => ({
      account: l.account,
      latest: l,
      curve: curve
        .filter((c) => c.account === l.account)
        .map((c) => ({ ts: c.ts, equity: c.equity, drawdown: c.drawdown })),
    }));
    res.json({ accounts });
  });

  app.get('/api/risk', async (req, res) => {
    const query = q(req, ['account', 'instrument', 'approved', 'limit']);
    const selected = account(query);
    const n = limit(query, 50, 1000);
    const [decisions, accounts, audit] = await Promise.all([
      rows(
        decisionsSql({ account: selected, instrument: instrument(query), approved: bool(query, 'approved'), limit: n }),
      ),
      rows(latestPnlSql({ account: selected })),
      rows(auditSql({ account: selected, limit: n })),
    ]);
    res.json({ decisions: decisions.map(decisionRow), accounts, audit });
  });

  app.get('/api/audit', async (req, res) => {
    const query = q(req, ['account', 'kind', 'limit']);
    const kind = oneOf(query, 'kind', AUDIT_KINDS);
    const audit = await rows(auditSql({ account: account(query), kind, limit: limit(query, 100, 1000) }));
    res.json({ audit });
  });

  app.get('/api/quality', async (req, res) => {
    const query = q(req, ['instrument', 'rule', 'limit']);
    const id = instrument(query);
    const rule = matching(query, 'rule', UPPER_WORD, 'CROSSED_QUOTE');
    const [findings, summary] = await Promise.all([
      rows(qualitySql({ instrument: id, rule, limit: limit(query, 100, 1000) })),
      rows(qualitySummarySql({ instrument: id })),
    ]);
    res.json({ findings, summary: summary.map((s) => ({ ...s, findings: Number(s.findings) })) });
  });

  app.get('/api/pipeline', async (req, res) => {
    q(req, []);
    res.json(await pipelineView());
  });

  app.get('/api/stream', async (req, res) => {
    const query = q(req, ['instrument', 'interval']);
    const id = instrument(query);
    const interval = matching(query, 'interval', INTERVAL, '1m');
    if ((id === undefined) !== (interval === undefined))
      throw new ApiError(400, 'BAD_PARAMETER', 'instrument and interval go together', 'give both, or neither');
    const key = clientKey(req);
    if ((streamCount.get(key) ?? 0) >= streamsPerClient)
      throw new ApiError(
        429,
        'TOO_MANY_STREAMS',
        `at most ${streamsPerClient} streams per client`,
        'close other tabs',
        {
          'Retry-After': '5',
        },
      );
    streamCount.set(key, (streamCount.get(key) ?? 0) + 1);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    let open = true;
    const emit = (event: string, data: unknown): void => {
      if (open) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    streams.add(res);
    let remove: () => void = () => undefined;
    const local = new Set<NodeJS.Timeout>();
    const cleanup = (): void => {
      if (!open) return;
      open = false;
      remove();
      for (const t of local) {
        clearInterval(t);
        timers.delete(t);
      }
      streams.delete(res);
      const left = (streamCount.get(key) ?? 1) - 1;
      if (left > 0) streamCount.set(key, left);
      else streamCount.delete(key);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
    remove = await hub.add(emit, id && interval ? { instrument: id, interval } : undefined);
    if (!open) remove();
    emit('ready', { at: new Date().toISOString() });
    let sending = false;
    const sendView = (): void => {
      if (sending || !open) return;
      sending = true;
      pipelineView()
        .then((view) => emit('pipeline', view))
        .catch((error: Error) => log.warn(`pipeline view: ${error.message}`))
        .finally(() => (sending = false));
    };
    sendView();
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      local.add(t);
      timers.add(t);
    };
    every(o.pipelineEventMs ?? 2000, sendView);
    every(o.heartbeatMs ?? 15_000, () => open && res.write(': heartbeat\n\n'));
    if (!open) cleanup();
  });

  // Guards run in guardJson (before the body is read); this only validates and publishes.
  const act = (action: 'HALT' | 'RESUME') => async (req: Request, res: Response) => {
    const body = actionBody(req.body, action);
    const id = tokenId(o.token);
    const command = await publish(o.kafka, o.codec, {
      action,
      account: body.account,
      instrumentId: body.instrumentId,
      flatten: body.flatten,
      reason: body.reason,
      actor: body.operator ? `console:${body.operator}@${id}` : `console:${id}`,
      prefix: o.prefix,
    });
    log.info(
      `${action.toLowerCase()} ${command.commandId} for ${command.instrumentId ? `${command.instrumentId} of ` : ''}${command.account ?? 'every account'} by ${command.actor}: ${command.reason}`,
    );
    res.status(202).json({ command });
  };
  const json = express.json({ limit: '4kb', type: () => true, strict: true });
  const guardJson = (req: Request, _res: Response, next: NextFunction): void => {
    // Origin and token before the body is read; the body parser then only sees authorized requests.
    if (!originAllowed(req.headers.origin, req.headers.host))
      return next(
        new ApiError(
          403,
          'CROSS_ORIGIN',
          'actions are accepted from this console’s own pages only',
          'use the console page',
        ),
      );
    try {
      authorizeAction({ authorization: req.headers.authorization, token: o.token });
    } catch (error) {
      return next(error);
    }
    if (!req.is('application/json'))
      return next(
        new ApiError(415, 'NOT_JSON', 'the body must be application/json', 'send Content-Type: application/json'),
      );
    next();
  };
  app.post('/api/halt', guardJson, json, act('HALT'));
  app.post('/api/resume', guardJson, json, act('RESUME'));

  app.use('/api', (_req, _res, next) =>
    next(new ApiError(404, 'NOT_FOUND', 'no such endpoint', 'see /api/openapi.json')),
  );
  app.use((_req, _res, next) => next(new ApiError(404, 'NOT_FOUND', 'no such page', 'open /')));

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (error instanceof ApiError) return sendError(res, error);
    const e = error as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed' || e.type === 'entity.too.large')
      return sendError(
        res,
        new ApiError(
          e.status ?? 400,
          'BAD_BODY',
          e.type === 'entity.too.large' ? 'the body is too large' : 'the body is not valid JSON',
          'send a small JSON object',
        ),
      );
    if (isTickflowError(error) && error.kind === 'transient')
      return sendError(res, new ApiError(503, error.code, error.message, error.fix));
    log.error(`console request failed: ${(error as Error).message ?? String(error)}`);
    sendError(res, new ApiError(500, 'INTERNAL', 'the console failed to answer', 'see the console log'));
  });

  return {
    app,
    hub,
    streams,
    stop: () => {
      for (const t of timers) clearInterval(t);
      timers.clear();
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}

/** Serves the console; resolves once it listens. */
export async function startConsole(o: ConsoleOptions): Promise<ConsoleServer> {
  const host = o.host ?? '127.0.0.1';
  if (o.prefix !== undefined && o.prefix !== '' && !/^[a-z0-9][a-z0-9._-]*\.$/.test(o.prefix))
    throw new TickflowError('USAGE', `namespace '${o.prefix}' is not a topic prefix`, 'e.g. exp1.');
  if (!isLoopback(host) && !o.token)
    throw new TickflowError(
      'CONFIG',
      `the console would listen on ${host}, beyond this machine, without a token`,
      'set TICKFLOW_CONSOLE_TOKEN (or TICKFLOW_CONSOLE_TOKEN_FILE) to a long random string, or listen on 127.0.0.1',
    );
  if (o.token) checkToken(o.token);
  const token = o.token ?? generateToken();
  const requested = o.port ?? 8088;
  // The port is known only after binding (port 0); the app reads it through this object.
  const bound = { ...o, token, port: requested };
  // Made once the port is known; until then (never in practice) requests get 503.
  const made: { parts?: ReturnType<typeof consoleApp> } = {};
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (made.parts) {
      made.parts.app(req, res);
      return;
    }
    res.statusCode = 503;
    res.end();
  };
  const server: Server = await new Promise((resolve, reject) => {
    const s = createServer(handler);
    s.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new TickflowError(
              'PORT_TAKEN',
              `port ${requested} on ${host} is in use`,
              'pass --port with a free port, or 0 for any',
            )
          : error,
      ),
    );
    s.listen(requested, host, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  bound.port = port;
  const parts = consoleApp(bound);
  made.parts = parts;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}/`,
    port,
    token,
    tokenGenerated: !o.token,
    close: () => {
      closed ??= (async () => {
        parts.stop();
        await parts.hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
