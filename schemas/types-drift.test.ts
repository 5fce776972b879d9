import fs from 'node:fs';
import { generateTypes, generatedPath } from '../ops/schemas/codegen';

describe('schemas/types.generated.ts', () => {
  it('matches the .avsc files (run `tickflow schemas codegen` after changing a schema)', () => {
    expect(fs.readFileSync(generatedPath(), 'utf8')).toBe(generateTypes());
  });
});
