import { parseYaml } from './yaml-subset';

describe('parseYaml (the subset ops/prometheus writes)', () => {
  it('reads nested mappings, sequences of mappings, quoted scalars and comments', () => {
    const source = [
      '# a comment',
      'rule_files:',
      '  - ../alerts.yml # trailing comment',
      'evaluation_interval: 1m',
      'tests:',
      '  - name: "lag #1"',
      '    interval: 1m',
      '    input_series:',
      '      - series: \'up{job="tickflow",instance="127.0.0.1:9464"}\'',
      "        values: '1 0x3'",
      "      - series: 'it''s'",
      '        values: "0+10x20"',
      '    alert_rule_test:',
      '      - eval_time: 3m',
      '        alertname: TickflowTargetDown',
      '        exp_alerts: []',
      '      - eval_time: 4m',
      '        alertname: X',
      '        exp_alerts:',
      '          - exp_labels:',
      '              severity: critical',
      '            exp_annotations: {}',
      'targets:',
      '- 127.0.0.1:9464',
      '- http://x',
    ].join('\n');
    expect(parseYaml(source)).toEqual({
      rule_files: ['../alerts.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          name: 'lag #1',
          interval: '1m',
          input_series: [
            { series: 'up{job="tickflow",instance="127.0.0.1:9464"}', values: '1 0x3' },
            { series: "it's", values: '0+10x20' },
          ],
          alert_rule_test: [
            { eval_time: '3m', alertname: 'TickflowTargetDown', exp_alerts: [] },
            {
              eval_time: '4m',
              alertname: 'X',
              exp_alerts: [{ exp_labels: { severity: 'critical' }, exp_annotations: {} }],
            },
          ],
        },
      ],
      targets: ['127.0.0.1:9464', 'http://x'],
    });
  });

  it('reads literal and folded block scalars with their chomping', () => {
    const source = [
      'literal: |',
      '  a > 0',
      '    and b  # not a comment',
      '',
      'strip: |-',
      '  x',
      'folded: >-',
      '  one',
      '  two',
      '',
      '  three',
      'keep: >',
      '  end',
      'last: z',
    ].join('\n');
    expect(parseYaml(source)).toEqual({
      literal: 'a > 0\n  and b  # not a comment\n',
      strip: 'x',
      folded: 'one two\nthree',
      keep: 'end\n',
      last: 'z',
    });
  });

  it('rejects what it does not read, with the line', () => {
    expect(() => parseYaml('a: [1, 2]', 'f.yml')).toThrow('f.yml:1: unsupported YAML');
    expect(() => parseYaml('a: &x 1')).toThrow(/unsupported YAML/);
    expect(() => parseYaml('a: b\n  c')).toThrow('yaml:2: unexpected indentation');
    expect(() => parseYaml('a: 1\na: 2')).toThrow('duplicate key "a"');
    expect(() => parseYaml("a: 'open")).toThrow(/unterminated/);
  });
});
