/**
 * `tendril status`: whether the node runs and, if so, what an operator looks for: pid, version,
 * uptime, its web servers with their modes (embedded, and dedicated ones that forwarded requests
 * in the last five minutes, which only the node knows: it is asked over the control socket), the
 * control socket and where the log goes. Exit 0 running, 3 stopped (as `systemctl status`).
 */
import { existsSync } from 'node:fs';
import { createSocketClient } from '../client/node.js';
import type { InstancePaths } from '../node/instance.js';
import { runningPid } from '../node/pid-lock.js';
import { VERSION } from '../version.js';
import type { Io } from './io.js';
import { readState } from './node-commands.js';

interface WebServer {
  readonly mode: string;
  readonly url: string;
  readonly dedicated: boolean;
  readonly serve?: readonly string[];
}

/** `1d 2h 3m 4s`, largest units first, zeros left out. */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let left = Math.max(0, Math.floor(seconds));
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (left >= size) parts.push(`${Math.floor(left / size)}${unit}`);
    left %= size;
  }
  if (left > 0 || parts.length === 0) parts.push(`${left}s`);
  return parts.join(' ');
}

/** The node's web servers as it reports them; undefined when it cannot be asked. */
async function askServers(paths: InstancePaths): Promise<{ servers?: WebServer[]; problem?: string }> {
  const client = createSocketClient(paths.controlSocket);
  try {
    const { data, response } = await client.api.GET('/restful/system', { signal: AbortSignal.timeout(5000) });
    if (!response.ok || !data) return { problem: `${response.statusText} (HTTP ${response.status})` };
    return { servers: data.node.web_servers };
  } catch (err) {
    return { problem: (err as Error).message };
  } finally {
    client.close();
  }
}

export async function printStatus(paths: InstancePaths, io: Io, json: boolean): Promise<number> {
  const pid = runningPid(paths.pidFile);
  const state = pid === undefined ? undefined : readState(paths);
  if (pid === undefined || state === undefined) {
    const exists = existsSync(paths.root);
    if (json) io.json({ status: 'stopped', instance: paths.root, instance_exists: exists, version: VERSION });
    else {
      io.out('status: stopped');
      io.out(`instance: ${paths.root}${exists ? '' : ' (does not exist)'}`);
      io.out(`version: ${VERSION}`);
    }
    return 3;
  }
  const { servers, problem } = await askServers(paths);
  const known = servers ?? (state.webServers ?? []).map((s) => ({ ...s, dedicated: false }));
  const uptime = (Date.now() - Date.parse(state.startedAt)) / 1000;
  if (json) {
    io.json({
      status: 'running',
      pid,
      version: state.version,
      instance: state.instance,
      started_at: state.startedAt,
      uptime_seconds: Math.floor(uptime),
      web_servers: known,
      control: state.controlSocket,
      log: state.logFile ?? null,
      ...(problem === undefined ? {} : { problem }),
    });
    return 0;
  }
  io.out('status: running');
  io.out(`pid: ${pid}`);
  io.out(`version: ${state.version}`);
  io.out(`instance: ${state.instance}`);
  io.out(`started: ${state.startedAt}`);
  io.out(`uptime: ${formatDuration(uptime)}`);
  for (const url of state.urls) io.out(`url: ${url}/restful/`);
  for (const s of known) io.out(`web server: ${s.mode} ${s.url} (${s.dedicated ? 'dedicated' : 'embedded'}; serves ${(s.serve ?? ['api']).join(',')})`);
  io.out(`control: ${state.controlSocket}`);
  io.out(`log: ${state.logFile ?? 'standard output of the terminal that started it'}`);
  if (problem !== undefined) io.err(`tendril: the node did not answer over its control socket: ${problem}`);
  return 0;
}
