/*
 * The foundation SDK publishes its modules only through package.json `exports`
 * (`@grafana/grafana-foundation-sdk/dashboard`), which this project's `moduleResolution: node` does not read, while
 * Node and Jest refuse the `dist/` paths the typings live under. These declarations give the exported names the
 * typings of their `dist/` files, so code imports the documented paths and type-checks.
 */
/* eslint-disable no-restricted-syntax -- a type-only mapping of a package's own modules, not a barrel */
declare module '@grafana/grafana-foundation-sdk/cog' {
  export * from '@grafana/grafana-foundation-sdk/dist/cog';
}
declare module '@grafana/grafana-foundation-sdk/common' {
  export * from '@grafana/grafana-foundation-sdk/dist/common';
}
declare module '@grafana/grafana-foundation-sdk/dashboard' {
  export * from '@grafana/grafana-foundation-sdk/dist/dashboard';
}
declare module '@grafana/grafana-foundation-sdk/prometheus' {
  export * from '@grafana/grafana-foundation-sdk/dist/prometheus';
}
declare module '@grafana/grafana-foundation-sdk/timeseries' {
  export * from '@grafana/grafana-foundation-sdk/dist/timeseries';
}
declare module '@grafana/grafana-foundation-sdk/candlestick' {
  export * from '@grafana/grafana-foundation-sdk/dist/candlestick';
}
declare module '@grafana/grafana-foundation-sdk/table' {
  export * from '@grafana/grafana-foundation-sdk/dist/table';
}
declare module '@grafana/grafana-foundation-sdk/stat' {
  export * from '@grafana/grafana-foundation-sdk/dist/stat';
}
declare module '@grafana/grafana-foundation-sdk/barchart' {
  export * from '@grafana/grafana-foundation-sdk/dist/barchart';
}
declare module '@grafana/grafana-foundation-sdk/statetimeline' {
  export * from '@grafana/grafana-foundation-sdk/dist/statetimeline';
}
