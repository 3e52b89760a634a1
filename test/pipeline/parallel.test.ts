import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary, Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import type * as AnalyzerModule from '../../src/pipeline/analyzer.js';
import type * as ParallelModule from '../../src/pipeline/parallel.js';
import { buildCorpus, removeCorpus } from '../harness/bench/corpus.js';
import { builtPackage } from '../helpers/built-cli.js';

// Worker threads load JavaScript, so the modules under test come from the build made once for the system tests.
const repo = resolve(import.meta.dirname, '../..');
let parallel: typeof ParallelModule;
let analyzer: typeof AnalyzerModule;

beforeAll(async () => {
  const out = join(builtPackage(), 'dist');
  parallel = (await import(pathToFileURL(join(out, 'pipeline/parallel.js')).href)) as typeof ParallelModule;
  analyzer = (await import(pathToFileURL(join(out, 'pipeline/analyzer.js')).href)) as typeof AnalyzerModule;
});

const captureInputs = (): { kind: 'file'; path: string }[] =>
  readdirSync(join(repo, 'captures'))
    .filter((name) => /\.pcap(ng)?$/.test(name))
    .sort()
    .map((name) => ({ kind: 'file', path: join(repo, 'captures', name) }));

function collector(delayMs = 0): { sink: Sink; sessions: SmtpSession[]; closed: RunSummary[] } {
  const sessions: SmtpSession[] = [];
  const closed: RunSummary[] = [];
  const sink: Sink = {
    name: 'collect',
    async sessionClosed(session) {
      sessions.push(session);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    },
    async close(summary) {
      closed.push(summary);
    },
  };
  return { sink, sessions, closed };
}

const withoutWall = (s: RunSummary): Omit<RunSummary, 'wallMs'> => {
  const { wallMs: _, ...rest } = s;
  return rest;
};

describe('parallel', () => {
  it('gives the sinks the same sessions, ids and order as the sequential analyzer, and the same summary', async () => {
    const inputs = captureInputs();
    expect(inputs.length).toBeGreaterThan(3);
    const sequential = await analyzer.analyzeToArray({ inputs });
    const c = collector();
    const summary = await parallel.createParallelAnalyzer({ inputs }, [c.sink], { workers: 2 }).run();
    expect(c.sessions.map((s) => s.id)).toEqual(sequential.sessions.map((s) => s.id));
    expect(c.sessions).toEqual(sequential.sessions);
    for (const s of c.sessions) expect(s.id).toMatch(/^\d+-C\d{6,}$/);
    expect(new Set(c.sessions.map((s) => s.id.split('-')[0])).size).toBeGreaterThan(3);
    expect(withoutWall(summary)).toEqual(withoutWall(sequential.summary));
    expect(c.closed).toHaveLength(1);
  });

  it('keeps the order when workers must wait for a slow sink (one buffered session per worker)', async () => {
    const inputs = captureInputs();
    const sequential = await analyzer.analyzeToArray({ inputs });
    const c = collector(2);
    await parallel.createParallelAnalyzer({ inputs }, [c.sink], { workers: 3, maxBufferedSessions: 1 }).run();
    expect(c.sessions).toEqual(sequential.sessions);
  });

  it('stops at an input that is not a capture, after delivering the inputs before it, like the sequential run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-parallel-bad-'));
    const bad = join(dir, 'not-a-capture.pcap');
    writeFileSync(bad, 'this is not a capture file at all, just text\n');
    const good = captureInputs();
    const inputs = [good[0]!, good[1]!, { kind: 'file' as const, path: bad }, good[2]!];
    const seq = collector();
    const seqError = await analyzer
      .createAnalyzer({ inputs }, [seq.sink])
      .run()
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    const par = collector();
    const parError = await parallel
      .createParallelAnalyzer({ inputs }, [par.sink], { workers: 2 })
      .run()
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    rmSync(dir, { recursive: true, force: true });
    expect(seqError?.name).toBe('CaptureFormatError');
    expect(parError?.name).toBe(seqError?.name);
    expect(parError?.message).toBe(seqError?.message);
    expect(par.sessions).toEqual(seq.sessions);
    expect(par.closed).toHaveLength(1);
    expect(withoutWall(par.closed[0]!)).toEqual(withoutWall(seq.closed[0]!));
  });

  it('runs the sequential analyzer for one input or inputs that cannot cross to a worker', () => {
    const inputs = captureInputs();
    expect(parallel.canRunInParallel({ inputs })).toBe(true);
    expect(parallel.canRunInParallel({ inputs: inputs.slice(0, 1) })).toBe(false);
    expect(parallel.canRunInParallel({ inputs, tap: () => {} })).toBe(false);
    expect(
      parallel.canRunInParallel({
        inputs: [...inputs, { kind: 'source', open: () => Promise.reject(new Error('x')) }],
      }),
    ).toBe(false);
  });
});

describe('sharded (one file split between workers by connection)', () => {
  const shard = (
    config: AnalyzerModule.AnalyzerConfig,
    shards: number,
    sinks: Sink[],
    maxBufferedSessions = 512,
  ) => {
    const options = { shards, shardMinBytes: 0, maxBufferedSessions };
    expect(parallel.parallelPlan(config, options)).toBe('one-file-split');
    return parallel.createParallelAnalyzer(config, sinks, options);
  };

  it('gives every bundled capture the sessions, ids, order and summary of one thread, with 2 and 3 shards', async () => {
    for (const input of captureInputs()) {
      const config = {
        inputs: [input],
        ports: new Set([25, 465, 587, 2525, 24, 366, 2587, 2588, 2589, 2590, 2592]),
      };
      const sequential = await analyzer.analyzeToArray(config);
      for (const shards of [2, 3]) {
        const c = collector();
        const summary = await shard(config, shards, [c.sink]).run();
        expect(c.sessions, `${input.path} on ${shards} shards`).toEqual(sequential.sessions);
        expect(withoutWall(summary)).toEqual(withoutWall(sequential.summary));
      }
    }
    // Two worker runs for each of the bundled captures (about 30 of them, more as captures are added).
  }, 180_000);

  it('merges idle expiry, FIN waits and the end-of-capture flush of many interleaved connections in one order', async () => {
    // The corpus maker runs here, as TypeScript; only the analysis under test runs compiled.
    const corpus = await buildCorpus(
      {
        name: 'shard-test',
        sizeBytes: 4 * 2 ** 20,
        concurrency: 300,
        smtpShare: 0.8,
        smtp: { messageBytes: 3000, recipients: 2, pipelined: true, transactions: 2, seed: 7 },
        seed: 7,
        stepMicros: 10,
      },
      join(repo, 'captures'),
    );
    // Timeouts of a few milliseconds of packet time close connections in the middle of the file, in every
    // shard at once; a cut-off connection table makes the end-of-capture flush close hundreds.
    const config = {
      inputs: [{ kind: 'file' as const, path: corpus.pcapPath }],
      assembler: { idleTimeoutMs: 3, finLingerMs: 1, closedLingerMs: 2 },
    };
    const sequential = await analyzer.analyzeToArray(config);
    const reasons = new Set(sequential.sessions.map((s) => s.closeReason));
    expect(reasons).toContain('idle-timeout');
    expect(sequential.sessions.length).toBeGreaterThan(100);
    const c = collector(1);
    const summary = await shard(config, 2, [c.sink], 2).run();
    removeCorpus(corpus);
    expect(c.sessions.map((s) => s.id)).toEqual(sequential.sessions.map((s) => s.id));
    expect(c.sessions).toEqual(sequential.sessions);
    expect(withoutWall(summary)).toEqual(withoutWall(sequential.summary));
  }, 60_000);

  it('fails on a file that is not a capture as one thread does, closing the sinks once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-shard-bad-'));
    const bad = join(dir, 'not-a-capture.pcap');
    writeFileSync(bad, 'this is not a capture file at all, just text\n');
    const config = { inputs: [{ kind: 'file' as const, path: bad }] };
    const seqError = await analyzer
      .createAnalyzer(config, [collector().sink])
      .run()
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    const c = collector();
    const error = await shard(config, 2, [c.sink])
      .run()
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    rmSync(dir, { recursive: true, force: true });
    expect(error?.name).toBe('CaptureFormatError');
    expect(error?.message).toBe(seqError?.message);
    expect(c.sessions).toEqual([]);
    expect(c.closed).toHaveLength(1);
  });

  it('stops on stop(): every worker ends its input, open sessions are closed and the sinks closed once', async () => {
    const input = captureInputs().find((i) => i.path.endsWith('many-rcpt.pcap'))!;
    const c = collector(5);
    const run = shard({ inputs: [input] }, 2, [c.sink], 1);
    const done = run.run();
    run.stop();
    const summary = await done;
    expect(c.closed).toHaveLength(1);
    expect(new Set(c.sessions.map((s) => s.id)).size).toBe(c.sessions.length);
    expect(summary.stats.sessionsClosed).toBe(c.sessions.length);
  });

  it('splits one file only when asked for two threads or more, and several files run one per worker', () => {
    const [first] = captureInputs();
    const one = { inputs: [first!] };
    expect(parallel.parallelPlan(one)).toBe('one-thread');
    expect(parallel.parallelPlan(one, { shards: 1, shardMinBytes: 0 })).toBe('one-thread');
    expect(parallel.parallelPlan(one, { shards: 2 })).toBe('one-thread'); // under 32 MiB
    expect(parallel.parallelPlan(one, { shards: 2, shardMinBytes: 0 })).toBe('one-file-split');
    expect(parallel.parallelPlan({ inputs: captureInputs() }, { workers: 2 })).toBe('files-on-workers');
    expect(parallel.parallelPlan({ inputs: captureInputs() }, { workers: 1 })).toBe('one-thread');
  });

  it('takes only one regular file of at least the size asked, with nothing that cannot cross', () => {
    const [first] = captureInputs();
    const inputs = [first!];
    expect(parallel.canShard({ inputs }, 0)).toBe(true);
    expect(parallel.canShard({ inputs }, 1e12)).toBe(false);
    expect(parallel.canShard({ inputs: [{ kind: 'file', path: '-' }] }, 0)).toBe(false);
    expect(parallel.canShard({ inputs, tap: () => {} }, 0)).toBe(false);
    expect(parallel.canShard({ inputs: captureInputs() }, 0)).toBe(false);
  });
});
