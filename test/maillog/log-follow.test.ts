import { appendFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { followLogFile } from '../../src/maillog/log-file.js';
import { createLogIndex } from '../../src/maillog/log-index.js';

const line = (id: string, status: string) =>
  `Nov 23 18:09:22 mx postfix/smtp[1]: ${id}: to=<a@b.test>, relay=none, delay=1, delays=0/0/0/1, dsn=2.0.0, status=${status} (ok)\n`;

describe('following a growing log', () => {
  it('reads what is appended from the end on, a line split between two polls, and the new file after a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-follow-'));
    const path = join(dir, 'mail.log');
    writeFileSync(path, line('AAAAAA1111', 'sent'));
    const index = createLogIndex({ referenceYear: 2026, utcOffsetMinutes: 0 });
    const follower = followLogFile(path, index);
    await follower.poll();
    expect(index.queue('AAAAAA1111')).toBeUndefined(); // before the follow started
    const second = line('BBBBBB2222', 'deferred');
    appendFileSync(path, second.slice(0, 40));
    await follower.poll();
    expect(index.queue('BBBBBB2222')).toBeUndefined(); // half a line is held
    appendFileSync(path, second.slice(40));
    await follower.poll();
    expect(index.queue('BBBBBB2222')?.recipients.get('a@b.test')?.last.status).toBe('deferred');
    // logrotate: the old file is renamed (one more line written to it first), a new one is created.
    appendFileSync(path, line('CCCCCC3333', 'sent'));
    renameSync(path, `${path}.1`);
    writeFileSync(path, line('DDDDDD4444', 'bounced'));
    await follower.poll();
    expect(index.queue('CCCCCC3333')).toBeDefined();
    expect(index.queue('DDDDDD4444')?.recipients.get('a@b.test')?.last.status).toBe('bounced');
    // copytruncate: the file is cut to nothing and written again.
    writeFileSync(path, line('EEEEEE5555', 'sent'));
    await follower.poll();
    expect(index.queue('EEEEEE5555')).toBeDefined();
    await follower.close();
    expect(index.counters.badLines).toBe(0);
  });
});
