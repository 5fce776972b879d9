import fs from 'node:fs';
import path from 'node:path';
import type { RawRecord } from '../../schemas/types.generated';
import { templateFormat } from './format';

const FILE = path.join(__dirname, 'fixtures', 'sample.csv');
const raw = (payload: string, line: number): RawRecord => ({ source: 'template-file', format: 'template-trades', tsRecv: 0, origin: `sample.csv:${line}`, sequence: line, payload });

describe('template feed format', () => {
  it('parses every line of its fixture exactly', () => {
    const [header, ...lines] = fs.readFileSync(FILE, 'utf8').trim().split('\n');
    expect(header).toBe(templateFormat.header);
    const parsed = lines.map((line, i) => templateFormat.parse(raw(line, i + 2)));
    expect(parsed.map((c) => (c.kind === 'trade' ? [c.value.instrumentId, c.value.tsEvent, c.value.side, c.value.price.toFixed(), c.value.size.toFixed()] : c.kind))).toEqual([
      ['EXAMPLE:ABC', 1704196800000000, 'BUY', '101.25', '3'],
      ['EXAMPLE:ABC', 1704196800250000, 'SELL', '101.24', '1.5'],
    ]);
  });

  it('names the bad field', () => {
    expect(() => templateFormat.parse(raw('EXAMPLE,ABC,1704196800000,1,buy,1O1.25,3', 9))).toThrow(/price '1O1.25' is not a decimal number/);
  });
});
