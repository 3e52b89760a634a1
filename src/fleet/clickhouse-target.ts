/**
 * Where a ClickHouse connection goes, from the URL and the explicit options (pure; no client loaded, so the
 * command line can check `--clickhouse` before it loads the sink).
 */

export const DEFAULT_DATABASE = 'smtpscope';

/** The URL and the explicit options (each wins over the URL). */
export interface ClickHouseTargetOptions {
  readonly url: string;
  readonly database?: string;
  readonly username?: string;
  readonly password?: string;
}

/** Where the connection goes: the URL without credentials or path, and who and which database. */
export interface ClickHouseTarget {
  readonly url: string;
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

/**
 * Resolves the URL and the explicit options into one target. Each of database, user and password comes
 * from the explicit option when given, else from the URL (`/db` path, `user:password@`), else the default.
 * The URL handed on keeps scheme, host, port and query, not the credentials or the path (the client would
 * let them override the explicit options). Throws TypeError for a URL that is not `http:`/`https:` or
 * whose path is more than one segment.
 */
export function resolveClickHouseTarget(options: ClickHouseTargetOptions): ClickHouseTarget {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new TypeError(`not a URL: '${options.url}' (for example http://127.0.0.1:8123)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new TypeError(`the ClickHouse URL must start with http:// or https://, not '${parsed.protocol}'`);
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (path.includes('/'))
    throw new TypeError(`the ClickHouse URL's path names one database, not '${parsed.pathname}'`);
  const fromUrl = {
    database: path === '' ? undefined : decodeURIComponent(path),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  parsed.pathname = '/';
  return {
    url: parsed.toString(),
    database: options.database ?? fromUrl.database ?? DEFAULT_DATABASE,
    username: options.username ?? fromUrl.username ?? 'default',
    password: options.password ?? fromUrl.password ?? '',
  };
}
