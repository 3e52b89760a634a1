/**
 * A throw-away ClickHouse server for tests: `clickhouse-server` (Debian package clickhouse-server, or any
 * `clickhouse` binary run as `clickhouse server`) on 127.0.0.1 with free ports, a temporary data directory,
 * a default user without password and logs in the temporary directory.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../harness/free-port.js';

const CANDIDATES: readonly (readonly string[])[] = [
  ['/usr/sbin/clickhouse-server'],
  ['/usr/bin/clickhouse-server'],
  ['/usr/bin/clickhouse', 'server'],
];

/** The command that starts a server, or null when none is installed. */
export function findClickHouseServer(): readonly string[] | null {
  for (const c of CANDIDATES) if (existsSync(c[0]!)) return c;
  const which = spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path !== '' ? [path] : null;
}

export interface TestClickHouse {
  readonly url: string;
  readonly dir: string;
  /** Runs a query over HTTP and returns the body (throws on an HTTP error); 64-bit integers unquoted in JSON. */
  query(sql: string): Promise<string>;
  /** SIGKILL: the server dies without a goodbye. */
  kill(): Promise<void>;
  /** SIGSTOP: the server hangs (connections are accepted by the kernel, nothing is answered). */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
  /** Starts the server again on the same ports and data. */
  start(): Promise<void>;
  /** Stops the server and removes the directory. */
  dispose(): Promise<void>;
}

export async function startTestClickHouse(
  command: readonly string[],
  readyMs = 20_000,
): Promise<TestClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-ch-'));
  for (const d of ['data', 'tmp', 'user_files']) mkdirSync(join(dir, d));
  const httpPort = await freePort();
  const tcpPort = await freePort();
  writeFileSync(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <mark_cache_size>5368709120</mark_cache_size>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
`,
  );
  writeFileSync(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | null = null;

  const query = async (sql: string): Promise<string> => {
    // 64-bit integers as JSON numbers (18.16 has no SETTINGS clause after FORMAT; URL parameters work).
    const res = await fetch(`${url}/?output_format_json_quote_64bit_integers=0`, {
      method: 'POST',
      body: sql,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${text.trim()}\n${sql}`);
    return text;
  };

  const start = async (): Promise<void> => {
    child = spawn(command[0]!, [...command.slice(1), `--config-file=${join(dir, 'config.xml')}`], {
      cwd: dir,
      stdio: 'ignore',
    });
    let exited: string | null = null;
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
    });
    const deadline = Date.now() + readyMs;
    for (;;) {
      if (exited !== null) throw new Error(`clickhouse-server ${exited} (see ${dir}/server.err.log)`);
      try {
        if ((await query('SELECT 1')).trim() === '1') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer within ${readyMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    // A paused server only acts on SIGTERM once it runs again.
    c.kill('SIGCONT');
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };

  await start();
  return {
    url,
    dir,
    query,
    kill: () => stop('SIGKILL'),
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    start,
    async dispose() {
      await stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
