import fs from 'node:fs';
import path from 'node:path';
import { SIGNAL_REJECT_CODES } from '../../schemas/signals';
import { ERROR_CODES, TickflowError, describeError, errorCodeMeaning, isRecordError, isTickflowError } from './errors';

describe('the one error type', () => {
  it('derives kind and retriable from the code, from a closed list', () => {
    expect(new TickflowError('PARSE_ERROR', 'x')).toMatchObject({ kind: 'record', retriable: false });
    expect(new TickflowError('TIMEOUT', 'x')).toMatchObject({ kind: 'transient', retriable: true });
    expect(new TickflowError('CONFIG', 'x', 'fix it')).toMatchObject({ kind: 'user', retriable: false, fix: 'fix it' });
    expect(new TickflowError('INVARIANT', 'x')).toMatchObject({ kind: 'invariant', retriable: false });
    for (const code of ERROR_CODES) {
      const { kind, retriable } = errorCodeMeaning(code);
      // Only a server's fault is worth retrying; a record or a setting fails the same way again.
      expect(retriable).toBe(kind === 'transient');
    }
  });

  it('tells record faults (dead letters) from everything else', () => {
    expect(isRecordError(new TickflowError('INVALID_OUTPUT', 'x'))).toBe(true);
    expect(isRecordError(new TickflowError('NOT_REACHABLE', 'x'))).toBe(false);
    expect(isRecordError(new RangeError('x'))).toBe(false);
    expect(isTickflowError(new TickflowError('TIMEOUT', 'x'), 'TIMEOUT')).toBe(true);
    expect(isTickflowError(new TickflowError('TIMEOUT', 'x'), 'DECODE_ERROR')).toBe(false);
  });

  it('describes an error with its fix', () => {
    expect(describeError(new TickflowError('USAGE', 'unknown flag --x', 'see --help'))).toBe(
      'unknown flag --x\n  fix: see --help',
    );
  });

  it('documents every reject code of validate in the signal schema', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'schemas', 'signal.avsc'), 'utf8')) as {
      fields: { name: string; doc?: string }[];
    };
    const doc = schema.fields.find((f) => f.name === 'rejectCode')?.doc ?? '';
    for (const code of SIGNAL_REJECT_CODES) expect(doc).toContain(code);
  });
});
