import fs from 'node:fs';
import path from 'node:path';
import type avro from 'avsc';

/** The schema files in this folder, by the name topics refer to them with. */
export const SCHEMA_FILES = {
  trade: 'trade.avsc',
  quote: 'quote.avsc',
  'book-snapshot': 'book-snapshot.avsc',
  bar: 'bar.avsc',
  feature: 'feature.avsc',
  'quality-event': 'quality-event.avsc',
  heartbeat: 'heartbeat.avsc',
  candidate: 'candidate.avsc',
  signal: 'signal.avsc',
  'bar-return': 'bar-return.avsc',
  'raw-record': 'raw-record.avsc',
  'dead-letter': 'dead-letter.avsc',
  'running-volume': 'running-volume.avsc',
  'state-entry': 'state-entry.avsc',
  'order-request': 'order-request.avsc',
  'order-event': 'order-event.avsc',
  fill: 'fill.avsc',
  'risk-decision': 'risk-decision.avsc',
  position: 'position.avsc',
  pnl: 'pnl.avsc',
  mark: 'mark.avsc',
  'risk-command': 'risk-command.avsc',
  'audit-event': 'audit-event.avsc',
  'config-change': 'config-change.avsc',
} as const;

export type SchemaName = keyof typeof SCHEMA_FILES;

/** The .avsc files live in the source tree; compiled code finds them from dist/ too. */
export function schemaDir(): string {
  const here =
    path.basename(path.resolve(__dirname, '..')) === 'dist'
      ? path.resolve(__dirname, '..', '..', 'schemas')
      : __dirname;
  return here;
}

export function readSchema(name: SchemaName): avro.Schema {
  return JSON.parse(fs.readFileSync(path.join(schemaDir(), SCHEMA_FILES[name]), 'utf8')) as avro.Schema;
}
