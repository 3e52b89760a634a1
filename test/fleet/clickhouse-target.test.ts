import { describe, expect, it, test } from 'vitest';
import { resolveClickHouseTarget } from '../../src/fleet/clickhouse-target.js';

describe('clickhouse-target', () => {
  test.each([
    // url, explicit options, expected url, database, username, password
    ['http://h:8123', {}, 'http://h:8123/', 'smtpscope', 'default', ''],
    ['http://h:8123/', {}, 'http://h:8123/', 'smtpscope', 'default', ''],
    ['http://h:8123/mail', {}, 'http://h:8123/', 'mail', 'default', ''],
    ['http://h:8123/mail/', {}, 'http://h:8123/', 'mail', 'default', ''],
    ['https://h/my%20db', {}, 'https://h/', 'my db', 'default', ''],
    ['http://u:p%40ss@h:8123/mail', {}, 'http://h:8123/', 'mail', 'u', 'p@ss'],
    ['http://u@h:8123', {}, 'http://h:8123/', 'smtpscope', 'u', ''],
    ['http://h:8123/mail', { database: 'other' }, 'http://h:8123/', 'other', 'default', ''],
    ['http://u:p@h:8123/mail', { username: 'w', password: '' }, 'http://h:8123/', 'mail', 'w', ''],
    ['http://u:p@h:8123', { password: 'flag' }, 'http://h:8123/', 'smtpscope', 'u', 'flag'],
    ['http://h:8123/?ch_async_insert=0', {}, 'http://h:8123/?ch_async_insert=0', 'smtpscope', 'default', ''],
  ] as const)('%s with %j', (url, explicit, wantUrl, database, username, password) => {
    expect(resolveClickHouseTarget({ url, ...explicit })).toEqual({
      url: wantUrl,
      database,
      username,
      password,
    });
  });

  it('refuses what is not an http(s) URL or names more than one path segment', () => {
    expect(() => resolveClickHouseTarget({ url: '127.0.0.1:8123' })).toThrow(TypeError);
    expect(() => resolveClickHouseTarget({ url: 'ftp://h/db' })).toThrow(/http/);
    expect(() => resolveClickHouseTarget({ url: 'http://h/a/b' })).toThrow(/one database/);
  });
});
