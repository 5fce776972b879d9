import { backwardProblems } from './registry';
import { avroTypeOf } from '../../pipelines/runtime/avro';

const v1 = {
  type: 'record',
  name: 'T',
  fields: [
    { name: 'a', type: 'int' },
    { name: 'p', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 12 } },
  ],
};

describe('BACKWARD compatibility analysis', () => {
  it('accepts a new field with a default and a widened type', () => {
    const v2 = {
      ...v1,
      fields: [{ name: 'a', type: 'long' }, v1.fields[1], { name: 'b', type: 'string', default: '' }],
    };
    expect(backwardProblems(avroTypeOf(v1 as never), avroTypeOf(v2 as never), 'T')).toEqual([]);
  });

  it('names a field added without a default', () => {
    const v2 = { ...v1, fields: [...v1.fields, { name: 'venue2', type: 'string' }] };
    expect(backwardProblems(avroTypeOf(v1 as never), avroTypeOf(v2 as never), 'T')).toEqual([
      "field 'T.venue2' was added without a default, so old records cannot fill it",
    ]);
  });

  it('names a field whose type cannot read the old values, including a decimal scale change', () => {
    const v2 = {
      ...v1,
      fields: [
        { name: 'a', type: 'string' },
        { name: 'p', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 8 } },
      ],
    };
    const problems = backwardProblems(avroTypeOf(v1 as never), avroTypeOf(v2 as never), 'T');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/field 'T.a' changed from int to string/);
    expect(problems[1]).toMatch(/field 'T.p' changed/);
  });
});
