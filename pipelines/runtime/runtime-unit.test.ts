import { TickflowError } from './errors';
import { parseConfig, parseSetFlags } from './config';
import { TransactionalStore } from './store';
import { coPartitionedPlan } from './assigner';

describe('TransactionalStore', () => {
  it('shows pending writes to reads, and commits or discards them as a unit', () => {
    const store = new TransactionalStore<number>();
    store.put('a', 1);
    expect(store.get('a')).toBe(1);
    store.abort();
    expect(store.get('a')).toBeUndefined();
    store.put('a', 1);
    store.put('b', 2);
    store.commit();
    store.delete('a');
    expect(store.changes()).toEqual([['a', null]]);
    expect(store.size).toBe(1);
    store.commit();
    expect(store.snapshot()).toEqual({ b: 2 });
  });
});

describe('stage config', () => {
  const schema = {
    windowMs: { type: 'number', default: 1000, description: 'w', min: 1, integer: true },
    topics: { type: 'list', default: ['a'], description: 't' },
  } as const;

  it('gives defaults and typed values', () => {
    expect(parseConfig('s', schema, {})).toEqual({ windowMs: 1000, topics: ['a'] });
    expect(parseConfig('s', schema, { windowMs: '250', topics: 'x,y' })).toEqual({ windowMs: 250, topics: ['x', 'y'] });
  });

  it('names the setting and the fix on bad values', () => {
    expect(() => parseConfig('s', schema, { windowMs: 'soon' })).toThrow(/s.windowMs: 'soon' is not a number/);
    expect(() => parseConfig('s', schema, { windowMs: '0' })).toThrow(/below the minimum 1/);
    expect(() => parseConfig('s', schema, { window: '5' })).toThrow(TickflowError);
    expect(() => parseSetFlags(['nonsense'])).toThrow(/is not <stage>.<setting>=<value>/);
    expect(parseSetFlags(['sink-questdb.topics=a,b']).get('sink-questdb')).toEqual({ topics: 'a,b' });
  });
});

describe('co-partitioned assignment', () => {
  it('gives partition N of every input to one member, spreading partition numbers round robin', () => {
    const plan = coPartitionedPlan(
      ['m-b', 'm-a'],
      new Map([
        ['raw.a', [0, 1, 2]],
        ['raw.b', [0, 1, 2]],
      ]),
    );
    expect(Object.fromEntries(plan)).toEqual({
      'm-a': { 'raw.a': [0, 2], 'raw.b': [0, 2] },
      'm-b': { 'raw.a': [1], 'raw.b': [1] },
    });
    // A member without partitions still gets an (empty) assignment.
    expect(coPartitionedPlan(['a', 'b', 'c', 'd'], new Map([['t', [0, 1, 2]]])).get('d')).toEqual({});
  });
});
