import type { CsvFormat } from './tardis/formats';
import { tardisBookSnapshot25, tardisQuotes, tardisTrades } from './tardis/formats';

/**
 * Source formats by name: what `tickflow replay --format` accepts and what normalize dispatches on
 * (the `format` field of each raw record). Add a connector's formats here, explicitly.
 */
export interface SourceFormat {
  readonly format: CsvFormat;
  /** Value of `source` on raw and canonical records for file replays of this format. */
  readonly source: string;
  readonly rawTopic: string;
}

export const FORMATS: Readonly<Record<string, SourceFormat>> = {
  'tardis-trades': { format: tardisTrades, source: 'tardis-file', rawTopic: 'md.raw.tardis.v1' },
  'tardis-quotes': { format: tardisQuotes, source: 'tardis-file', rawTopic: 'md.raw.tardis.v1' },
  'tardis-book-snapshot-25': { format: tardisBookSnapshot25, source: 'tardis-file', rawTopic: 'md.raw.tardis.v1' },
};

export function formatNames(): string[] {
  return Object.keys(FORMATS);
}
