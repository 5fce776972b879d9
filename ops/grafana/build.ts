import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { DASHBOARDS } from './dashboards';

/** Where the generated dashboards live (committed; provisioned from here). */
export const DASHBOARDS_DIR = path.join(REPO_ROOT, 'ops', 'grafana', 'dashboards');

/** Every dashboard as the plain JSON Grafana loads (the SDK's marker methods dropped), by name. */
export function buildDashboards(): Record<string, object> {
  return Object.fromEntries(
    Object.entries(DASHBOARDS).map(([name, build]) => [name, JSON.parse(JSON.stringify(build())) as object]),
  );
}

const WIDTH = 120;

/**
 * JSON laid out as Prettier lays it out (the repository's `prettier --check` covers *.json): non-empty objects
 * one key a line, arrays of scalars on one line when they fit in 120 columns, anything else one element a line.
 */
export function formatJson(value: unknown, indent = '', prefix = ''): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const flat = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
      if (indent.length + prefix.length + flat.length + 1 <= WIDTH) return flat;
    }
    return `[\n${value.map((v) => `${inner}${formatJson(v, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([k, v]) => {
    const key = `${JSON.stringify(k)}: `;
    return `${inner}${key}${formatJson(v, inner, key)}`;
  });
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

/** The files `tickflow grafana build` writes: `<name>.json` and its text. */
export function dashboardFiles(): Map<string, string> {
  return new Map(
    Object.entries(buildDashboards()).map(([name, dashboard]) => [`${name}.json`, `${formatJson(dashboard)}\n`]),
  );
}

/** Writes every dashboard into `dir`; returns the files whose content changed. */
export function writeDashboards(dir = DASHBOARDS_DIR): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const changed: string[] = [];
  for (const [file, text] of dashboardFiles()) {
    const target = path.join(dir, file);
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text) continue;
    fs.writeFileSync(target, text);
    changed.push(file);
  }
  return changed;
}

/**
 * The files of `dir` that differ from a fresh build: missing, different, or a `.json` no dashboard
 * writes (a renamed or removed dashboard Grafana would still provision).
 */
export function staleDashboards(dir = DASHBOARDS_DIR): string[] {
  const files = dashboardFiles();
  const stale: string[] = [];
  for (const [file, text] of files) {
    const target = path.join(dir, file);
    if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== text) stale.push(file);
  }
  const present = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  for (const file of present) if (!files.has(file)) stale.push(file);
  return stale.sort();
}
