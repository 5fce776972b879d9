import {
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard, DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DashboardCursorSync, MappingType } from '@grafana/grafana-foundation-sdk/dashboard';
import type { ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';

/** Every dashboard's common frame: tags, time zone, shared crosshair, refresh, default range. */
export function frame(builder: DashboardBuilder, from: string): DashboardBuilder {
  return builder
    .tags(['tickflow'])
    .timezone('utc')
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from, to: 'now' })
    .editable();
}

export function legend(asTable = false): VizLegendOptionsBuilder {
  return new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(asTable ? LegendDisplayMode.Table : LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .calcs(asTable ? ['lastNotNull', 'max'] : []);
}

export function tooltip(): VizTooltipOptionsBuilder {
  return new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);
}

/** Colours of an account's trading state wherever it is shown (P&L rows, the live gauge, decisions). */
export const TRADING_STATE_COLOURS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      ACTIVE: { text: 'ACTIVE', color: 'green', index: 0 },
      REDUCING: { text: 'REDUCING', color: 'orange', index: 1 },
      HALTED: { text: 'HALTED', color: 'red', index: 2 },
    },
  },
];

/** Builds and numbers the panels (Grafana wants unique ids; the builder leaves them unset). */
export function finish(builder: DashboardBuilder): Dashboard {
  const dashboard = builder.build();
  (dashboard.panels ?? []).forEach((panel, index) => {
    panel.id = index + 1;
  });
  return dashboard;
}
