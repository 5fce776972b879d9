import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { dataQualityDashboard } from './data-quality';
import { marketsDashboard } from './markets';
import { pipelineHealthDashboard } from './pipeline-health';
import { tradingDashboard } from './trading';

/**
 * Every dashboard by name, explicitly; the name is its file, ops/grafana/dashboards/<name>.json (written by
 * `tickflow grafana build`, provisioned by ops/grafana/provisioning/dashboards/tickflow.yaml).
 */
export const DASHBOARDS: Readonly<Record<string, () => Dashboard>> = {
  markets: marketsDashboard,
  trading: tradingDashboard,
  'data-quality': dataQualityDashboard,
  'pipeline-health': pipelineHealthDashboard,
};
