import { SCHEMA_FILES } from '../schemas/avro';
import { NORMALIZE_OUTPUTS } from '../pipelines/normalize/normalize';
import { STAGES } from '../pipelines/registry';
import { TOPICS, dlqTopicOf, topicSpec } from './catalog';
import { changelogTopic } from './catalog';

describe('topic catalog', () => {
  it('names topics <domain>.<entity>.v<N> or, as DESIGN.md has signals.v1, <entity>.v<N> (plus .dlq twins)', () => {
    for (const t of TOPICS)
      expect(t.name).toMatch(/^([a-z]+(\.[a-z0-9-]+)*\.v\d+(\.dlq)?|[a-z0-9-]+\.[a-z0-9-]+\.changelog)$/);
  });

  it('has a .dlq twin for every topic a stage consumes', () => {
    for (const stage of Object.values(STAGES))
      for (const input of stage.inputs) expect(topicSpec(dlqTopicOf(input))?.valueSchema).toBe('dead-letter');
  });

  it('declares every topic a stage produces, with a schema file', () => {
    for (const topic of Object.values(NORMALIZE_OUTPUTS)) expect(topicSpec(topic)).toBeDefined();
    for (const t of TOPICS) expect(Object.keys(SCHEMA_FILES)).toContain(t.valueSchema);
  });

  it('gives every stage store a compacted changelog partitioned like the stage input', () => {
    for (const stage of Object.values(STAGES)) {
      for (const store of stage.stores ?? []) {
        const changelog = topicSpec(changelogTopic(stage.name, store));
        expect(changelog?.cleanup).toBe('compact');
        for (const input of stage.inputs) expect(changelog?.partitions).toBe(topicSpec(input)?.partitions);
      }
    }
  });

  it('has unique names', () => {
    expect(new Set(TOPICS.map((t) => t.name)).size).toBe(TOPICS.length);
  });
});
