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

  test('an unknown command suggests the nearest', async () => {
    await expect(main(['tpa'])).rejects.toThrow(/unknown command 'tickflow tpa'/);
    await expect(main(['tpa'])).rejects.toMatchObject({ fix: expect.stringMatching(/did you mean `tickflow tap`/) });
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
