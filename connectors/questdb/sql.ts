import { endpoints } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { httpSecurity, serviceFetch } from '../../pipelines/runtime/security';

/** QuestDB's REST SQL endpoint (/exec). Returns rows as arrays, in column order. */
export interface QueryResult {
  columns: { name: string; type: string }[];
  dataset: unknown[][];
  count: number;
}

/**
 * Runs `query` over REST with the configured credentials and CA (pipelines/runtime/security.ts); 401/403 is a CONFIG
 * error.
 */
export async function sql(query: string, baseUrl = endpoints().questdbUrl): Promise<QueryResult> {
  const url = `${baseUrl}/exec?${new URLSearchParams({ query }).toString()}`;
  const security = httpSecurity('questdb');
  let response: Response;
  try {
    response = await serviceFetch(security, url, { signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new TickflowError(
      'NOT_REACHABLE',
      `QuestDB at ${baseUrl} did not answer: ${(error as Error).message}`,
      'run `tickflow stack up`, or set TICKFLOW_QUESTDB_URL to a running QuestDB',
    );
  }
  if (response.status === 401 || response.status === 403) {
    await response.arrayBuffer();
    const credentials = 'TICKFLOW_QUESTDB_USERNAME and TICKFLOW_QUESTDB_PASSWORD, or TICKFLOW_QUESTDB_TOKEN';
    throw new TickflowError(
      'CONFIG',
      `QuestDB at ${baseUrl} refused the query (${response.status === 401 ? '401 unauthenticated' : '403 forbidden'})`,
      security.auth ? `check ${credentials}, and the account's permissions` : `set ${credentials} (or <NAME>_FILE)`,
    );
  }
  const body = (await response.json()) as Partial<QueryResult> & { error?: string; ddl?: string };
  if (!response.ok || body.error)
    throw new TickflowError(
      'INVARIANT',
      `QuestDB rejected SQL (${response.status}): ${body.error ?? 'unknown error'}\n  query: ${query}`,
      'fix the query or the table definition in connectors/questdb/tables.ts',
    );
  return { columns: body.columns ?? [], dataset: body.dataset ?? [], count: body.count ?? 0 };
}

/** First column of the first row, or undefined. */
export async function scalar(query: string, baseUrl?: string): Promise<unknown> {
  const result = await sql(query, baseUrl);
  return result.dataset[0]?.[0];
}

/**
 * Waits until QuestDB has applied every committed WAL transaction of `tables`, so a query sees all
 * acknowledged rows (ILP acknowledges on commit to the WAL; applying to the table is asynchronous).
 */
export async function waitForWalApplied(
  tables: readonly string[],
  timeoutMs = 60_000,
  baseUrl?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const list = tables.map((t) => `'${t.replace(/'/g, "''")}'`).join(', ');
  for (;;) {
    const result = await sql(
      `SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables() WHERE name IN (${list})`,
      baseUrl,
    );
    const suspended = result.dataset.filter((row) => row[1] === true).map((row) => String(row[0]));
    if (suspended.length > 0)
      throw new TickflowError(
        'INVARIANT',
        `QuestDB suspended WAL apply for ${suspended.join(', ')}`,
        'see the QuestDB log (`tickflow stack logs questdb`); ALTER TABLE ... RESUME WAL once fixed',
      );
    if (result.dataset.every((row) => Number(row[2]) >= Number(row[3]))) return;
    if (Date.now() > deadline)
      throw new TickflowError(
        'INVARIANT',
        `QuestDB did not apply WAL for ${tables.join(', ')} within ${timeoutMs / 1000} s`,
        'QuestDB may be overloaded; see `tickflow stack logs questdb`',
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
