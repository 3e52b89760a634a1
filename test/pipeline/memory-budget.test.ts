/**
 * The global memory budget (src/pipeline/memory-budget.ts): over it, the least recently active quarter of the
 * open connections is closed as `limit` at each check, counted; under it nothing happens.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { createMemoryBudget } from '../../src/pipeline/memory-budget.js';
import { writeShortSessions } from '../harness/adversarial/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-budget-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('memory budget', () => {
  it('sheds a quarter of the open connections per check only while over the budget, at most every 10 ms', () => {
    let rss = 100;
    let clock = 0;
    const budget = createMemoryBudget(
      200,
      () => rss,
      () => clock,
    );
    const shed: number[] = [];
    const shedder = (n: number) => {
      shed.push(n);
      return n;
    };
    budget.check(40, shedder);
    expect(shed).toEqual([]);
    rss = 300;
    clock += 5;
    budget.check(40, shedder);
    expect(shed).toEqual([]); // too soon after the last check
    clock += 10;
    budget.check(40, shedder);
    budget.check(40, shedder); // same instant: not read again
    clock += 10;
    budget.check(3, shedder);
    expect(shed).toEqual([10, 1]);
    expect(budget.stats()).toEqual({ hits: 2, connectionsClosed: 11, bytes: 200 });
  });

  it('a budget the process is always over closes connections early; every session is still reported', async () => {
    const path = join(dir, 'short.pcap');
    writeShortSessions(path, { sessions: 2000, concurrent: 100 });
    const generous = await analyzeToArray({ inputs: [{ kind: 'file', path }], memoryBudgetBytes: 2 ** 45 });
    expect(generous.summary.stats.budget.hits).toBe(0);
    expect(generous.sessions.filter((s) => s.end === 'evicted')).toHaveLength(0);
    const tight = await analyzeToArray({ inputs: [{ kind: 'file', path }], memoryBudgetBytes: 1 });
    const budget = tight.summary.stats.budget;
    expect(budget.hits).toBeGreaterThan(0);
    expect(budget.connectionsClosed).toBeGreaterThan(0);
    const evicted = tight.sessions.filter((s) => s.end === 'evicted');
    // Closed early as `limit`: ended `evicted`, unless the dialogue had already ended with QUIT.
    expect(evicted.length).toBeGreaterThan(0);
    expect(evicted.length).toBeLessThanOrEqual(budget.connectionsClosed);
    // A connection closed early and then going on is picked up again midstream: more sessions, none lost.
    expect(tight.sessions.length).toBeGreaterThanOrEqual(generous.sessions.length);
  }, 120_000);
});
