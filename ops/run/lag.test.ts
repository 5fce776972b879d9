import { committedAtOf, formatLag, groupState } from './lag';
import { parseAssignment, settingsInForce } from './config';

describe('lag report', () => {
  test('group states and commit metadata', () => {
    expect(groupState('Stable')).toBe('running');
    expect(groupState('PreparingRebalance')).toBe('rebalancing');
    expect(groupState('Empty')).toBe('stopped');
    expect(committedAtOf('{"committedAt":1700000000000}')).toBe(1700000000000);
    expect(committedAtOf('')).toBeNull();
    expect(committedAtOf('not json')).toBeNull();
  });

  test('an aligned table with partitions', () => {
    const text = formatLag(
      [
        {
          name: 'normalize',
          kind: 'stage',
          group: 'tickflow.normalize',
          state: 'paused',
          members: 1,
          lag: 12,
          lastCommitAt: 1_000_000 - 5000,
          paused: 1,
          fusedInto: null,
          partitions: [
            { topic: 'md.raw.tardis.v1', partition: 0, committed: '10', end: '22', lag: 12, committedAt: 995_000 },
          ],
        },
      ],
      { partitions: true, now: 1_000_000 },
    );
    expect(text.split('\n')).toEqual([
      'STAGE                  KIND   STATE   MEMBERS  PAUSED  LAG  LAST COMMIT  GROUP',
      'normalize              stage  paused  1        1       12   5 s ago      tickflow.normalize',
      '  md.raw.tardis.v1[0]                                  12   5 s ago      10 / 22',
    ]);
  });
});

describe('config assignments', () => {
  test('a setting of a known stage parses; unknown ones name the fix', () => {
    expect(parseAssignment('validate.minConfidence=0.6', true)).toEqual({
      stage: 'validate',
      setting: 'minConfidence',
      value: '0.6',
    });
    expect(() => parseAssignment('nosuch.x=1', true)).toThrow(/no stage or sink 'nosuch'/);
    expect(() => parseAssignment('validate.nosuch=1', true)).toThrow(/validate has no setting 'nosuch'/);
    expect(() => parseAssignment('validate.minConfidence', true)).toThrow(/STAGE.SETTING=VALUE/);
  });

  test('settings in force: the config topic over the defaults', () => {
    const change = {
      changeId: 'c1',
      stage: 'validate',
      setting: 'minConfidence',
      value: '0.9',
      previous: '0.5',
      actor: 'me',
      reason: 'test',
      tsChanged: 1,
    };
    const rows = settingsInForce(['validate'], new Map([['validate.minConfidence', change]]));
    expect(rows.find((r) => r.setting === 'minConfidence')).toMatchObject({ value: '0.9', source: 'config topic' });
    expect(rows.filter((r) => r.source === 'default').length).toBe(rows.length - 1);
  });
});
