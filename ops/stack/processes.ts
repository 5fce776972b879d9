import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Processes of the local stack run detached, each with a pid file and a log file. A pid counts as
 * ours only while its command line carries `-Dtickflow.component=<name>`, so a recycled pid is
 * never mistaken for a running server.
 */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
}

export function componentMarker(name: string): string {
  return `-Dtickflow.component=${name}`;
}

export function readPid(proc: ManagedProcess): number | undefined {
  try {
    const pid = Number(fs.readFileSync(proc.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isOurs(pid: number, name: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0').includes(componentMarker(name));
  } catch {
    return false;
  }
}

/** The pid of the running process, or undefined (a stale pid file is removed). */
export function runningPid(proc: ManagedProcess): number | undefined {
  const pid = readPid(proc);
  if (pid === undefined) return undefined;
  if (isOurs(pid, proc.name)) return pid;
  fs.rmSync(proc.pidFile, { force: true });
  return undefined;
}

export function startDetached(
  proc: ManagedProcess,
  command: string,
  args: string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): number {
  fs.mkdirSync(path.dirname(proc.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(proc.pidFile), { recursive: true });
  const log = fs.openSync(proc.logFile, 'a');
  fs.writeSync(
    log,
    `\n==== tickflow: starting ${proc.name} at ${new Date().toISOString()}\n==== ${command} ${args.join(' ')}\n`,
  );
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', log, log], env: env ?? process.env });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${proc.name}: ${command}`);
  child.unref();
  fs.writeFileSync(proc.pidFile, `${child.pid}\n`);
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(proc: ManagedProcess, graceMs: number): Promise<boolean> {
  const pid = runningPid(proc);
  if (pid === undefined) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (isAlive(pid)) await sleep(100);
  }
  fs.rmSync(proc.pidFile, { force: true });
  return true;
}

export function tail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '(no log yet)';
  }
}
