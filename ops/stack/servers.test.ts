import { kafkaServerProperties } from './servers';
import { parseMajor } from './java';

describe('local stack configuration', () => {
  it('configures a single KRaft node for transactions on one broker', () => {
    const props = kafkaServerProperties(1, 1, '/tmp/k');
    expect(props).toContain('process.roles=broker,controller');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.1:9093');
    expect(props).toContain('transaction.state.log.replication.factor=1');
    expect(props).toContain('transaction.state.log.min.isr=1');
    expect(props).toContain('auto.create.topics.enable=false');
    expect(props).toContain('group.initial.rebalance.delay.ms=0');
  });

  it('configures three nodes with distinct ports and replication 3', () => {
    const props = kafkaServerProperties(2, 3, '/tmp/k');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095');
    expect(props).toContain('offsets.topic.replication.factor=3');
    expect(props).toContain('min.insync.replicas=2');
  });

  it('reads Java major versions', () => {
    expect(parseMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseMajor('openjdk version "25.0.3" 2026-04-21 LTS')).toBe(25);
  });
});
