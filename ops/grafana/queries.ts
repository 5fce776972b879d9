import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';

/**
 * The data sources every dashboard names by uid; ops/grafana/provisioning/datasources/tickflow.yaml provisions
 * them with these uids and types (dashboards.test.ts holds the two together).
 */
export const QUESTDB: Required<DataSourceRef> = { type: 'questdb-questdb-datasource', uid: 'tickflow-questdb' };
export const PROMETHEUS: Required<DataSourceRef> = { type: 'prometheus', uid: 'tickflow-prometheus' };

/** The QuestDB plugin's result formats (its `Format` enum): long time series become one series per label. */
export enum QuestdbFormat {
  TimeSeries = 0,
  Table = 1,
}

/**
 * A QuestDB panel query in the plugin's own model (`queryType: 'sql'` is its code editor): the plugin expands
 * `$__timeFilter(col)`, `$__fromTime`, `$__toTime` and `$__sampleByInterval` (never `$__interval`: SAMPLE BY wants
 * `1T`, not `1ms`), Grafana the `$variables`.
 */
export interface QuestdbQuery extends Dataquery {
  refId: string;
  datasource: DataSourceRef;
  queryType: 'sql';
  rawSql: string;
  format: QuestdbFormat;
  selectedFormat: QuestdbFormat;
}

class QuestdbQueryBuilder implements Builder<Dataquery> {
  constructor(private readonly query: Omit<QuestdbQuery, '_implementsDataqueryVariant'>) {}

  build(): Dataquery {
    // The SDK's marker method; JSON output drops it, as it drops the SDK's own.
    return { ...this.query, _implementsDataqueryVariant: () => undefined } as QuestdbQuery;
  }
}

/** Collapses the indentation of a template literal so the dashboard JSON holds one readable SQL line. */
function oneLine(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

export function questdb(sql: string, format = QuestdbFormat.Table, refId = 'A'): Builder<Dataquery> {
  return new QuestdbQueryBuilder({
    refId,
    datasource: QUESTDB,
    queryType: 'sql',
    rawSql: oneLine(sql),
    format,
    selectedFormat: format,
  });
}

/** A range query; `legend` is Grafana's legend format (`{{stage}}`). */
export function prometheus(expr: string, legend: string, refId = 'A'): Builder<Dataquery> {
  return new DataqueryBuilder().datasource(PROMETHEUS).expr(oneLine(expr)).legendFormat(legend).range().refId(refId);
}

/**
 * A single-value variable whose options come from QuestDB within the picked time range (refreshed when it
 * changes). Single-value on purpose: queries use it as `'$name'`, which a multi-value variable would break.
 */
export function questdbVariable(name: string, label: string, sql: string): QueryVariableBuilder {
  const query = oneLine(sql);
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(QUESTDB)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);
}
