import { TickflowError } from '../../pipelines/runtime/errors';
import { main } from './main';
import { parseCommand, positiveInt } from './args';
import { parseSpeed } from '../../connectors/file-replay/replay';
import { endpoints } from '../../pipelines/runtime/settings';

describe('CLI argument handling', () => {
  const spec = {
    usage: 'x [--n N]',
    positionals: [0, 1] as [number, number],
    flags: {
      n: { type: 'string' as const, description: 'n' },
      mode: { type: 'string' as const, choices: ['a', 'b'], description: 'm' },
    },
  };

  it('rejects unknown flags with the usage', () => {
    expect(() => parseCommand('x', spec, ['--nope'])).toThrow(/Unknown option '--nope'/);
  });

  it('rejects a bad choice, naming the allowed values', () => {
    expect(() => parseCommand('x', spec, ['--mode', 'c'])).toThrow(/must be one of a, b, not 'c'/);
  });

  it('rejects extra positionals', () => {
    expect(() => parseCommand('x', spec, ['a', 'b'])).toThrow(/expected 0 to 1 argument/);
  });

  it('validates numbers', () => {
    expect(() => positiveInt('max', '-3')).toThrow(/positive whole number/);
    expect(positiveInt('max', '3')).toBe(3);
  });

  it('parses replay speeds', () => {
    expect(parseSpeed('max')).toEqual({ kind: 'max' });
    expect(parseSpeed('10x')).toEqual({ kind: 'factor', factor: 10 });
    expect(() => parseSpeed('fast')).toThrow(/--speed 'fast'/);
  });

  it('rejects unknown commands and bad environment values with a fix', async () => {
    await expect(main(['frobnicate'])).rejects.toThrow(/unknown command 'tickflow frobnicate'/);
    await expect(main(['stack', 'up', '--brokers', '2'])).rejects.toThrow(/--brokers must be one of 1, 3/);
    let error: unknown;
    try {
      endpoints({ TICKFLOW_KAFKA_BROKERS: 'localhost' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TickflowError);
    expect((error as TickflowError).fix).toMatch(/host:port/);
    expect(() => endpoints({ TICKFLOW_QUESTDB_URL: 'ftp://x' })).toThrow(/not an http\(s\) URL/);
  });

  it('run --explain prints the plan without a cluster: the fused chain, and no chain with --no-fuse', async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await main(['run', '--explain', '--stages', 'aggregate,score,validate,sink-questdb'])).toBe(0);
      expect(written.join('')).toContain('aggregate -> score -> validate: FUSED');
      written.length = 0;
      expect(await main(['run', '--explain', '--no-fuse', '--stages', 'aggregate,score'])).toBe(0);
      expect(written.join('')).toContain('aggregate -> score via md.bars.v1: fusing is off (--no-fuse)');
    } finally {
      spy.mockRestore();
    }
  });
});
