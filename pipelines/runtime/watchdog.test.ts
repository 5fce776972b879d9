import { Watchdog } from './watchdog';

describe('Watchdog', () => {
  it('stays quiet while fetches return and batches move, then names what is pending', () => {
    let now = 0;
    const phases: [string, number][] = [];
    const dog = new Watchdog(
      (phase, ms) => phases.push([phase, ms]),
      () => now,
    );
    dog.fetchStarted(1);
    now = 900;
    dog.fetchEnded(1);
    dog.phase('md.trades.v1:0', 'decode');
    now = 905;
    dog.phase('md.trades.v1:0', 'commit');
    dog.fetchStarted(2);
    now = 60_000;
    expect(dog.stalled(60_000)).toBeUndefined();
    now = 65_905;
    expect(dog.stalled(60_000)).toBe(
      "no progress for 65 s: fetch from broker 2 pending 65 s; batch of md.trades.v1:0 in 'commit' for 65 s",
    );
    now = 66_000;
    dog.batchEnded('md.trades.v1:0');
    expect(dog.stalled(60_000)).toBeUndefined();
    expect(phases).toEqual([
      ['decode', 5],
      ['commit', 65_095],
    ]);
  });

  it('says so when nothing is in flight at all', () => {
    let now = 0;
    const dog = new Watchdog(undefined, () => now);
    now = 61_000;
    expect(dog.stalled(60_000)).toBe(
      'no progress for 61 s: no fetch and no batch in flight (the consumer is not fetching)',
    );
  });
});
