import { spawnSync } from 'node:child_process';
import type { CommandDef } from './args';
import { COMMANDS, SUMMARIES } from './command-list';
import { bashCompletion } from './commands/completion';
import { commandHelp, helpText, main } from './main';

/** Every command with its name as typed: `tap`, `stack up`, ... */
function everyCommand(): [string, CommandDef][] {
  return Object.entries(COMMANDS).flatMap(([name, command]) =>
    'subcommands' in command
      ? Object.entries(command.subcommands).map(([sub, def]) => [`${name} ${sub}`, def] as [string, CommandDef])
      : [[name, command] as [string, CommandDef]],
  );
}

describe('help and completion', () => {
  test('every command and group has a summary, a usage naming it, and described flags', () => {
    for (const name of Object.keys(COMMANDS)) expect(SUMMARIES[name]).toBeTruthy();
    for (const [name, def] of everyCommand()) {
      expect([name, Boolean(SUMMARIES[name])]).toEqual([name, true]);
      expect(def.spec.usage.startsWith(name)).toBe(true);
      for (const [flag, spec] of Object.entries(def.spec.flags)) {
        expect([name, flag, spec.description.length > 3]).toEqual([name, flag, true]);
        // The usage line mentions every flag (consistency between the two).
        expect([name, flag, def.spec.usage.includes(`--${flag}`)]).toEqual([name, flag, true]);
      }
    }
    expect(Object.keys(SUMMARIES).filter((k) => !everyCommand().some(([n]) => n === k) && !COMMANDS[k])).toEqual([]);
  });

  test('top-level help lists every command; each command renders its help', () => {
    const text = helpText();
    for (const name of Object.keys(COMMANDS)) expect(text).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    expect(text).toContain('TICKFLOW_KAFKA_BROKERS');
    for (const [name, def] of everyCommand()) {
      const [group, sub] = name.split(' ');
      const help = commandHelp(group, sub);
      expect(help).toContain(`usage: tickflow ${def.spec.usage}`);
      for (const flag of Object.keys(def.spec.flags)) expect(help).toContain(`--${flag}`);
    }
    expect(commandHelp('config')).toContain('config set STAGE.SETTING=VALUE');
  });

  test('every help form exits 0 and writes the help to stdout', async () => {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const forms: [string[], RegExp][] = [
        [['--help'], /^commands:$/m],
        [['-h'], /TICKFLOW_CONFIG_FILE/],
        [['help'], /README\.md/],
        [['help', 'tap'], /^tickflow tap: .+\nusage: tickflow tap /],
        [['tap', '--help'], /--from-beginning/],
        [['tap', '-h'], /^usage: tickflow tap /m],
        [['help', 'stack', 'up'], /^tickflow stack up: /],
        [['stack', '--help'], /^tickflow stack: [^\n]+\n\n {2}up /],
        [['stack', 'up', '--help'], /^usage: tickflow stack up/m],
        [['topics', 'describe', '-h'], /^usage: tickflow topics describe/m],
        [['grafana', '--help'], /^ {11}--check {2}\S/m],
        [['grafana', 'build', '--help'], /^usage: tickflow grafana build \[--check\]\n {2}--check {2}\S/m],
      ];
      for (const [argv, pattern] of forms) {
        out.length = 0;
        expect([argv, await main(argv)]).toEqual([argv, 0]);
        expect([argv, out.join('')]).toEqual([argv, expect.stringMatching(pattern)]);
      }
    } finally {
      spy.mockRestore();
    }
    for (const env of [
      'TICKFLOW_KAFKA_BROKERS',
      'TICKFLOW_SCHEMA_REGISTRY_URL',
      'TICKFLOW_QUESTDB_URL',
      'TICKFLOW_CONFIG_FILE',
      'TICKFLOW_CONSOLE_TOKEN',
    ])
      expect(helpText()).toContain(env);
  });

  test('an unknown command suggests the nearest', async () => {
    await expect(main(['tpa'])).rejects.toThrow(/unknown command 'tickflow tpa'/);
    await expect(main(['tpa'])).rejects.toMatchObject({
      code: 'USAGE', // runCli exits 2 on USAGE
      fix: expect.stringMatching(/did you mean `tickflow tap`/),
    });
    await expect(main(['help', 'stak'])).rejects.toMatchObject({ fix: expect.stringMatching(/`tickflow stack`/) });
    await expect(main(['zzzzzzzz'])).rejects.toMatchObject({ fix: expect.not.stringMatching(/did you mean/) });
  });

  test('the bash completion names every command and flag, and bash accepts it', () => {
    const script = bashCompletion(COMMANDS);
    for (const name of Object.keys(COMMANDS)) expect(script).toContain(name);
    for (const flag of Object.keys((COMMANDS.tap as CommandDef).spec.flags)) expect(script).toContain(`--${flag}`);
    expect(script).toContain('md.trades.v1');
    const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    expect([check.status, check.stderr]).toEqual([0, '']);
    // It completes for real: `tickflow ta<TAB>` and `tickflow tap --fo<TAB>`.
    const run = (words: string[]): string =>
      spawnSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tickflow; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    expect(run(['tickflow', 'ta'])).toBe('tap');
    expect(run(['tickflow', 'tap', '--fo'])).toBe('--follow');
    expect(run(['tickflow', 'config', 's'])).toBe('set show');
    expect(run(['tickflow', 'config', 'show', '--h'])).toBe('--history --help');
  });
});
