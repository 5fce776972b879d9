import { TickflowError } from '../../pipelines/runtime/errors';
import { PROMETHEUS, QUESTDB } from './queries';

/** One query of a dashboard: a panel's target, or a variable's options query. */
export interface PanelQuery {
  dashboard: string;
  /** The panel's title, or `$name (variable)`. */
  panel: string;
  kind: 'panel' | 'variable';
  refId: string;
  datasource: 'questdb' | 'prometheus';
  sql?: string;
  expr?: string;
}

interface DataSourceJson {
  uid?: string;
}
interface TargetJson {
  refId?: string;
  datasource?: DataSourceJson;
  rawSql?: string;
  expr?: string;
}
interface PanelJson {
  title?: string;
  datasource?: DataSourceJson;
  targets?: TargetJson[];
  panels?: PanelJson[];
}
interface VariableJson {
  name: string;
  type: string;
  datasource?: DataSourceJson;
  query?: string | { rawSql?: string; query?: string; expr?: string };
}
interface DashboardJson {
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}

function kindOf(dashboard: string, where: string, ref: DataSourceJson | undefined): PanelQuery['datasource'] {
  if (ref?.uid === QUESTDB.uid) return 'questdb';
  if (ref?.uid === PROMETHEUS.uid) return 'prometheus';
  throw new TickflowError(
    'INVARIANT',
    `${dashboard} / ${where} names data source ${JSON.stringify(ref ?? null)}`,
    `give it QUESTDB or PROMETHEUS from ops/grafana/queries.ts`,
  );
}

function query(base: Omit<PanelQuery, 'sql' | 'expr'>, text: string): PanelQuery {
  return base.datasource === 'questdb' ? { ...base, sql: text } : { ...base, expr: text };
}

/** Every query of every panel (rows' panels included) and every query variable, in dashboard order. */
export function panelQueries(dashboards: Readonly<Record<string, object>>): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const [dashboard, value] of Object.entries(dashboards)) {
    const json = value as DashboardJson;
    const walk = (panels: PanelJson[] | undefined): void => {
      for (const panel of panels ?? []) {
        const title = panel.title ?? '(untitled)';
        for (const target of panel.targets ?? []) {
          const datasource = kindOf(dashboard, title, target.datasource ?? panel.datasource);
          const text = datasource === 'questdb' ? target.rawSql : target.expr;
          const refId = target.refId ?? '';
          out.push(query({ dashboard, panel: title, kind: 'panel', refId, datasource }, text ?? ''));
        }
        walk(panel.panels);
      }
    };
    walk(json.panels);
    for (const variable of json.templating?.list ?? []) {
      if (variable.type !== 'query') continue;
      const panel = `$${variable.name} (variable)`;
      const datasource = kindOf(dashboard, panel, variable.datasource);
      const q = variable.query;
      const text = typeof q === 'string' ? q : (q?.rawSql ?? q?.query ?? q?.expr ?? '');
      out.push(query({ dashboard, panel, kind: 'variable', refId: variable.name, datasource }, text));
    }
  }
  return out;
}
