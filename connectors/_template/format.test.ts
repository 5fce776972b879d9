import fs from 'node:fs';
import path from 'node:path';
import type { RawRecord } from '../../schemas/types.generated';
import { templateFormat } from './format';

const FILE = path.join(__dirname, 'fixtures', 'sample.csv');
const raw = (payload: string, line: number): RawRecord => ({
  source: 'template-file',
  format: 'template-trades',
  tsRecv: 0,
  origin: `sample.csv:${line}`,
  sequence: line,
  payload,
});

describe('template feed format', () => {
  it('parses every line of its fixture exactly', () => {
    const [header, ...lines] = fs.readFileSync(FILE, 'utf8').trim().split('\n');
    expect(header).toBe(templateFormat.header);
    const parsed = lines.map((line, i) => templateFormat.parse(raw(line, i + 2)));
    expect(
      parsed.map((c) =>
        c.kind === 'trade'
          ? [c.value.instrumentId, c.value.tsEvent, c.value.side, c.value.price.toFixed(), c.value.size.toFixed()]
          : c.kind,
      ),
    ).toEqual([
      ['EXAMPLE:ABC', 1704196800000000, 'BUY', '101.25', '3'],
      ['EXAMPLE:ABC', 1704196800250000, 'SELL', '101.24', '1.5'],
    ]);
  });

  it('names the bad field', () => {
    expect(() => templateFormat.parse(raw('EXAMPLE,ABC,1704196800000,1,buy,1O1.25,3', 9))).toThrow(
      /price '1O1.25' is not a decimal number/,
    );
  });

  it('refuses hostile fields with a TickflowError and keys replay only with valid identifiers', () => {
    const cases: [string, RegExp][] = [
      ['EXAMPLE,ABC,1704196800,1,buy,101.25,3', /^time_ms 1704196800 ms \(.*\) is before 1980-01-01/],
      ['EXAMPLE,ABC,1704196800000,1,constructor,101.25,3', /^side 'constructor' is not buy or sell$/],
      ['EXA\u0000MPLE,ABC,1704196800000,1,buy,101.25,3', /^venue "EXA\\u0000MPLE" holds a control character$/],
      ['EXAMPLE,ABC,1704196800000,1,buy,1e9000000000000000,3', /^price '1e9000000000000000' has an exponent beyond/],
      [`EXAMPLE,ABC,1704196800000,1,buy,101.25,3${','.repeat(100_000)}`, /^template-trades line has more than 7/],
    ];
    for (const [line, message] of cases) {
      expect(() => templateFormat.parse(raw(line, 2))).toThrow(message);
      expect(() => templateFormat.locate(line, 'sample.csv')).not.toThrow();
    }
    expect(templateFormat.locate('EXA\u0000MPLE,ABC,1704196800000,1,buy,101.25,3', 'sample.csv').key).toBeNull();
  });
});
