/**
 * The benchmark: `npm run bench -- [options]`.
 *
 *   --size-mb N        size of the generated capture (default 300)
 *   --corpus FILE      measure an existing Ethernet capture instead of generating one (pcap or pcapng), such
 *                      as the real-traffic reference corpus; its table is the doc's `corpus-results` section
 *   --with-corpus FILE measure the generated corpus and then FILE (as --corpus would), in the same run, and
 *                      write the targets of the performance issue from both (the doc's `targets` section)
 *   --attempts N       connection attempts: N bare SYNs to port 25 (the adversarial generator's flood, default
 *                      300000; 0 leaves them out), analysed with the summary, in the child and as a whole process
 *   --tls-corpus DIR   measure the TLS row alone on the corpus make-tls-corpus.sh wrote into DIR (clear.pcap,
 *                      tls.pcap, tls.keys): the same sessions in clear, decrypted with the key log, and without
 *                      it; its table is the doc's `tls-results` section
 *   --with-tls-corpus DIR  the same TLS measurement after the others, in the same run, and its ratios in the
 *                      targets (with --with-corpus: every target of the performance issue from one run)
 *   --runs N           timed runs per figure, the median is reported (default 3)
 *   --modes A,B,...    the main table's rows (default all: read, walk, reassemble, full, csv, ndjson, threads,
 *                      csv-threads, files-threads); the targets need read, walk, reassemble, full and csv
 *   --tshark           include tshark (the default when it is installed)
 *   --no-tshark        leave tshark out
 *   --tshark-max-mb N  tshark reads at most this much of the capture (default 100, with --corpus the whole
 *                      file): a larger pcap is cut to its first whole packets up to N MB and tshark's time
 *                      scaled by the size ratio (labelled so)
 *   --tshark-runs N    timed tshark runs (default: --runs, with --corpus 1: tshark takes minutes there)
 *   --no-scaling       skip the scaling measurements
 *   --memory MB,MB     peak memory of the full analysis on captures of these sizes (one run each)
 *   --keep             keep the generated captures in the temporary directory (reused by the next run)
 *   --write-doc        write the results into docs/PERFORMANCE.md
 *
 * Every figure is measured in a child process of its own, with the file in the page cache (read once before
 * the timed runs); runs of the different modes are interleaved, so that load from other programs spreads over
 * all of them and ratios from one run can be compared.
 */

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSynFlood } from '../adversarial/scenarios.js';
import { PRODUCT_CLI, REPO_ROOT } from '../repo-root.js';
import { writePcapPrefix } from './capture-prefix.js';
import {
  findTshark,
  type ProcessMeasurement,
  runCliMeasurement,
  runNodeMeasurement,
  runTsharkMeasurement,
  TSHARK_ARGS,
} from './child-runner.js';
import { buildCorpus, type Corpus, type CorpusSpec, removeCorpus } from './corpus.js';
import { MEASURE_MODES, type MeasureMode, type Measurement, type TlsArgument } from './measure.js';

interface Options {
  sizeMb: number;
  corpus: string | null;
  withCorpus: string | null;
  attempts: number;
  modes: MeasureMode[];
  tlsCorpus: string | null;
  withTlsCorpus: string | null;
  runs: number;
  tshark: boolean | null;
  /** null: 100 MB for a generated corpus, the whole file with --corpus. */
  tsharkMaxMb: number | null;
  /** null: --runs for a generated corpus, 1 with --corpus. */
  tsharkRuns: number | null;
  scaling: boolean;
  memory: number[];
  keep: boolean;
  writeDoc: boolean;
}

const REPO = REPO_ROOT;
const MB = 1e6;

function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    sizeMb: 300,
    corpus: null,
    withCorpus: null,
    attempts: 300_000,
    modes: [...MEASURE_MODES],
    tlsCorpus: null,
    withTlsCorpus: null,
    runs: 3,
    tshark: null,
    tsharkMaxMb: null,
    tsharkRuns: null,
    scaling: true,
    memory: [],
    keep: false,
    writeDoc: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--size-mb') o.sizeMb = Number(value());
    else if (arg === '--corpus') o.corpus = resolve(value());
    else if (arg === '--tls-corpus') o.tlsCorpus = resolve(value());
    else if (arg === '--with-tls-corpus') o.withTlsCorpus = resolve(value());
    else if (arg === '--with-corpus') o.withCorpus = resolve(value());
    else if (arg === '--attempts') o.attempts = Number(value());
    else if (arg === '--modes') {
      const modes = value().split(',');
      const unknown = modes.filter((m) => !(MEASURE_MODES as readonly string[]).includes(m));
      if (unknown.length > 0) throw new Error(`unknown mode ${unknown.join(', ')}`);
      o.modes = modes as MeasureMode[];
    } else if (arg === '--runs') o.runs = Number(value());
    else if (arg === '--tshark') o.tshark = true;
    else if (arg === '--no-tshark') o.tshark = false;
    else if (arg === '--tshark-max-mb') o.tsharkMaxMb = Number(value());
    else if (arg === '--tshark-runs') o.tsharkRuns = Number(value());
    else if (arg === '--no-scaling') o.scaling = false;
    else if (arg === '--memory') o.memory = value().split(',').map(Number);
    else if (arg === '--keep') o.keep = true;
    else if (arg === '--write-doc') o.writeDoc = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (o.corpus !== null && o.withCorpus !== null)
    throw new Error('--corpus and --with-corpus exclude each other');
  if (
    !(o.sizeMb > 0) ||
    !(o.runs >= 1) ||
    (o.tsharkMaxMb !== null && !(o.tsharkMaxMb > 0)) ||
    (o.tsharkRuns !== null && !(o.tsharkRuns >= 1)) ||
    o.memory.some((m) => !(m > 0)) ||
    !(o.attempts >= 0)
  )
    throw new Error('sizes and runs must be positive');
  return o;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Figure {
  readonly label: string;
  readonly format: string;
  readonly fileBytes: number;
  readonly ms: number;
  readonly packets: number;
  readonly sessions: number;
  readonly maxRssBytes: number;
  readonly runs: readonly number[];
}

function summarize(label: string, format: string, fileBytes: number, runs: readonly Measurement[]): Figure {
  const last = runs[runs.length - 1]!;
  return {
    label,
    format,
    fileBytes,
    ms: median(runs.map((r) => r.ms)),
    packets: last.packets,
    sessions: last.sessions,
    maxRssBytes: Math.max(...runs.map((r) => r.maxRssBytes)),
    runs: runs.map((r) => r.ms),
  };
}

const MODE_LABELS: Readonly<Record<MeasureMode, string>> = {
  read: 'plain read (`fs.readSync`, 1 MiB buffer)',
  walk: 'bare header walk + port filter (reference)',
  reassemble: 'smtpscope read + decode + reassemble',
  full: 'smtpscope full analysis, summary only',
  csv: 'smtpscope full analysis + all four CSVs',
  ndjson: 'smtpscope full analysis + NDJSON',
  threads: `smtpscope full analysis, summary only, the file split between ${availableParallelism()} threads`,
  'csv-threads': `smtpscope full analysis + all four CSVs, the file split between ${availableParallelism()} threads`,
  'files-threads': `smtpscope full analysis, ${availableParallelism()} copies of the file as ${availableParallelism()} inputs on ${availableParallelism()} threads, time per copy`,
};

function packetCount(path: string, outDir: string): number {
  return runNodeMeasurement('walk', path, outDir).packets;
}

/**
 * What tshark reads: the pcap itself, or a prefix of it (`scale` = whole file size ÷ prefix size, by which the
 * prefix's time is multiplied).
 */
interface TsharkInput {
  readonly exe: string;
  readonly path: string;
  readonly scale: number;
  readonly label: string;
}

/** Measures `modes` on each file, interleaving the runs; tshark (pcap only) when asked. */
function measureFiles(
  files: readonly { readonly format: string; readonly path: string }[],
  modes: readonly MeasureMode[],
  runs: number,
  tshark: TsharkInput | null,
  tsharkRuns: number,
  outDir: string,
  log: (text: string) => void,
): Figure[] {
  const results = new Map<string, Measurement[]>();
  const key = (format: string, mode: string): string => `${format}\u0000${mode}`;
  for (const file of files) runNodeMeasurement('read', file.path, outDir); // warm the page cache
  for (let r = 0; r < runs; r++) {
    for (const file of files) {
      for (const mode of modes) {
        const m = runNodeMeasurement(mode, file.path, outDir);
        log(
          `  run ${r + 1}/${runs} ${file.format} ${mode}: ${m.ms.toFixed(0)} ms, ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
        const list = results.get(key(file.format, mode)) ?? [];
        list.push(m);
        results.set(key(file.format, mode), list);
      }
      if (tshark !== null && file.format === 'pcap' && r < tsharkRuns) {
        const measured = runTsharkMeasurement(tshark.exe, tshark.path);
        const m = { ...measured, ms: measured.ms * tshark.scale };
        log(
          `  run ${r + 1}/${runs} ${file.format} tshark: ${measured.ms.toFixed(0)} ms${tshark.scale === 1 ? '' : ` (× ${tshark.scale.toFixed(2)} = ${m.ms.toFixed(0)} ms)`}, ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
        const list = results.get(key(file.format, 'tshark')) ?? [];
        list.push(m);
        results.set(key(file.format, 'tshark'), list);
      }
    }
  }
  const figures: Figure[] = [];
  for (const file of files) {
    const size = statSync(file.path).size;
    const packets = packetCount(file.path, outDir);
    for (const mode of [...modes, 'tshark' as const]) {
      const list = results.get(key(file.format, mode));
      if (list === undefined) continue;
      const f = summarize(
        mode === 'tshark' ? (tshark?.label ?? 'tshark') : MODE_LABELS[mode],
        file.format,
        size,
        list,
      );
      figures.push({ ...f, packets });
    }
  }
  return figures;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function ratio(a: number, b: number | undefined): string {
  return b === undefined ? '–' : fmt(a / b, 2);
}

function mainTable(figures: readonly Figure[]): string {
  const rows = [
    '| what | format | median ms | MB/s | packets/s | peak RSS MiB | ÷ plain read | ÷ header walk | tshark time ÷ this |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const tsharkMs = figures.find((f) => f.label.startsWith('tshark'))?.ms;
  for (const f of figures) {
    const read = figures.find((g) => g.format === f.format && g.label === MODE_LABELS.read)?.ms;
    const walk = figures.find((g) => g.format === f.format && g.label === MODE_LABELS.walk)?.ms;
    rows.push(
      `| ${f.label} | ${f.format} | ${fmt(f.ms)} | ${fmt(f.fileBytes / MB / (f.ms / 1000))} | ${fmt(f.packets / (f.ms / 1000))} | ${fmt(f.maxRssBytes / 2 ** 20)} | ${ratio(f.ms, read)} | ${ratio(f.ms, walk)} | ${tsharkMs === undefined ? '–' : fmt(tsharkMs / f.ms, 1)} |`,
    );
  }
  return rows.join('\n');
}

interface ScalingPoint {
  readonly dimension: string;
  readonly point: string;
  readonly spec: CorpusSpec;
}

function scalingPoints(seed: number): ScalingPoint[] {
  const base = { sizeBytes: 50 * MB, smtpShare: 1, seed, stepMicros: 10 } as const;
  const shape = { messageBytes: 20_000, recipients: 2, pipelined: true, transactions: 1, seed } as const;
  const points: ScalingPoint[] = [];
  for (const concurrency of [10, 1_000, 10_000])
    points.push({
      dimension: 'concurrent connections',
      point: fmt(concurrency),
      spec: { ...base, name: `scale-conn-${concurrency}`, concurrency, smtp: shape },
    });
  for (const messageBytes of [1_000, 100_000, 5_000_000])
    points.push({
      dimension: 'message size',
      point: `${fmt(messageBytes / 1000)} kB`,
      spec: {
        ...base,
        name: `scale-msg-${messageBytes}`,
        concurrency: 100,
        smtp: { ...shape, messageBytes },
      },
    });
  for (const [recipients, pipelined] of [
    [1, false],
    [1, true],
    [8, true],
    [48, true],
  ] as const)
    points.push({
      dimension: 'pipelining depth',
      point: pipelined
        ? `${recipients + 2} commands per segment (${recipients} RCPT)`
        : 'lock-step (1 command per round trip)',
      spec: {
        ...base,
        name: `scale-pipe-${recipients}-${pipelined ? 'p' : 'l'}`,
        concurrency: 100,
        smtp: { ...shape, messageBytes: 5_000, recipients, pipelined },
      },
    });
  return points;
}

function scalingTable(rows: readonly { point: ScalingPoint; corpus: Corpus; figure: Figure }[]): string {
  const out = [
    '| dimension | point | sessions | median ms | MB/s | packets/s | sessions/s | peak RSS MiB |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { point, corpus, figure } of rows) {
    const s = figure.ms / 1000;
    out.push(
      `| ${point.dimension} | ${point.point} | ${fmt(corpus.smtpSessions)} | ${fmt(figure.ms)} | ${fmt(corpus.pcapBytes / MB / s)} | ${fmt(corpus.packets / s)} | ${fmt(corpus.smtpSessions / s)} | ${fmt(figure.maxRssBytes / 2 ** 20)} |`,
    );
  }
  return out.join('\n');
}

/** One input of the TLS row: a capture of the TLS corpus, with the key log or without. */
interface TlsInput {
  readonly label: string;
  readonly path: string;
  readonly tls: TlsArgument;
}

/**
 * The TLS row: the same sessions in clear, under STARTTLS decrypted with the key log, and under STARTTLS with no
 * key (for reference: the records are skipped), each with the summary only and with all four CSVs; the runs
 * of every input and mode interleaved, medians of wall and CPU time.
 */
function tlsSection(
  dir: string,
  runs: number,
  outDir: string,
  command: string,
  log: (text: string) => void,
): TlsFigures {
  const inputs: TlsInput[] = [
    { label: 'clear', path: join(dir, 'clear.pcap'), tls: { keyLog: null } },
    {
      label: 'STARTTLS, decrypted (`--tls-keylog`)',
      path: join(dir, 'tls.pcap'),
      tls: { keyLog: join(dir, 'tls.keys') },
    },
    { label: 'STARTTLS, no key log', path: join(dir, 'tls.pcap'), tls: { keyLog: null } },
  ];
  const modes = ['full', 'csv'] as const;
  const results = new Map<string, Measurement[]>();
  for (const input of inputs) runNodeMeasurement('read', input.path, outDir); // warm the page cache
  for (let r = 0; r < runs; r++)
    for (const mode of modes)
      for (const input of inputs) {
        const m = runNodeMeasurement(mode, input.path, outDir, input.tls);
        log(
          `  run ${r + 1}/${runs} ${mode} ${input.label}: ${m.ms.toFixed(0)} ms, ${(m.cpuMs ?? 0).toFixed(0)} ms CPU`,
        );
        const key = `${mode}\u0000${input.label}`;
        results.set(key, [...(results.get(key) ?? []), m]);
      }
  const rows = [
    '| sinks | capture | sessions | decrypted | transactions | recipients | median ms | median CPU ms | MB/s | peak RSS MiB | ÷ clear (CPU) |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const ratios: string[] = [];
  const wallRatios: string[] = [];
  const cpuRatio = new Map<string, number>();
  for (const mode of modes) {
    const clearRuns = results.get(`${mode}\u0000${inputs[0]!.label}`)!;
    const clearCpu = median(clearRuns.map((m) => m.cpuMs ?? m.ms));
    const clearWall = median(clearRuns.map((m) => m.ms));
    for (const input of inputs) {
      const list = results.get(`${mode}\u0000${input.label}`)!;
      const last = list[list.length - 1]!;
      const ms = median(list.map((m) => m.ms));
      const cpu = median(list.map((m) => m.cpuMs ?? m.ms));
      const bytes = statSync(input.path).size;
      rows.push(
        `| ${MODE_LABELS[mode].replace('smtpscope full analysis', 'full analysis')} | ${input.label} | ${fmt(last.sessions)} | ${fmt(last.tls?.decrypted ?? 0)} | ${fmt(last.tls?.transactions ?? 0)} | ${fmt(last.tls?.recipients ?? 0)} | ${fmt(ms)} | ${fmt(cpu)} | ${fmt(bytes / MB / (ms / 1000))} | ${fmt(Math.max(...list.map((m) => m.maxRssBytes)) / 2 ** 20)} | ${fmt(cpu / clearCpu, 2)} |`,
      );
      if (input === inputs[1]) {
        cpuRatio.set(mode, cpu / clearCpu);
        ratios.push(`${fmt(cpu / clearCpu, 2)} × (${mode === 'full' ? 'summary only' : 'all four CSVs'})`);
        wallRatios.push(`${fmt(ms / clearWall, 2)} ×`);
      }
    }
  }
  const size = (name: string): string => fmt(statSync(join(dir, name)).size / MB);
  const text =
    `Command: \`${command}\`. Machine: ${machine()}. Input: the TLS corpus (test/harness/bench/make-tls-corpus.sh), ` +
    `clear.pcap ${size('clear.pcap')} MB and tls.pcap ${size('tls.pcap')} MB. Median of ${runs} runs per figure, ` +
    'each in its own child process, the runs of all rows interleaved; CPU time is user + system of the child over ' +
    'the analysis (every thread), the ratio is taken on it because wall time on a loaded machine is mostly waiting.\n\n' +
    `${rows.join('\n')}\n\n` +
    `Decryption costs ${ratios.join(', ')} the CPU time of the analysis of the same sessions in clear ` +
    `(wall-time medians: ${wallRatios.join(', ')}).\n`;
  return { text, summaryCpuRatio: cpuRatio.get('full') ?? null, csvCpuRatio: cpuRatio.get('csv') ?? null };
}

/** The TLS section's text and its two CPU ratios (decrypted ÷ clear), for the targets. */
interface TlsFigures {
  readonly text: string;
  readonly summaryCpuRatio: number | null;
  readonly csvCpuRatio: number | null;
}

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
  return `${availableParallelism()} cores (\`nproc\`), ${model}, Node ${process.version}, load average ${load} at the end of the run`;
}

function replaceSection(doc: string, name: string, body: string): string {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from >= 0 && to > from) return `${doc.slice(0, from)}${block}${doc.slice(to + end.length)}`;
  return `${doc.trimEnd()}\n\n${block}\n`;
}

interface AttemptFigures {
  readonly count: number;
  readonly childMs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssBytes: number;
}

/** A figure of a main table by mode (the pcap file's when there are two formats). */
function figureOf(figures: readonly Figure[] | null, mode: MeasureMode | 'tshark'): Figure | undefined {
  if (figures === null) return undefined;
  const pcap = figures.filter((f) => f.format === 'pcap');
  const among = pcap.length > 0 ? pcap : figures;
  return mode === 'tshark'
    ? among.find((f) => f.label.startsWith('tshark'))
    : among.find((f) => f.label === MODE_LABELS[mode]);
}

/**
 * The targets of the performance issue, each from the tables of this run: the generated corpus's and the
 * existing capture's (the real-traffic reference corpus), the 1 kB point of the scaling table and the
 * connection attempts.
 */
function targetsText(
  command: string,
  generated: readonly Figure[] | null,
  corpus: readonly Figure[] | null,
  oneKbSessionsPerSecond: number | null,
  attempts: AttemptFigures | null,
  tls: TlsFigures | null,
): string {
  const cell = (figures: readonly Figure[] | null, a: MeasureMode | 'tshark', b: MeasureMode): string => {
    const x = figureOf(figures, a);
    const y = figureOf(figures, b);
    if (x === undefined || y === undefined) return 'not measured';
    return `${fmt(x.ms / y.ms, 1)} × (${fmt(x.ms)} ÷ ${fmt(y.ms)} ms)`;
  };
  const ratioOf = (figures: readonly Figure[] | null, a: MeasureMode | 'tshark', b: MeasureMode) => {
    const x = figureOf(figures, a);
    const y = figureOf(figures, b);
    return x === undefined || y === undefined ? null : x.ms / y.ms;
  };
  const met = (values: readonly (number | null)[], ok: (v: number) => boolean): string => {
    const known = values.filter((v): v is number => v !== null);
    if (known.length === 0) return 'not measured';
    return known.every(ok) ? 'yes' : known.some(ok) ? 'on one corpus' : 'no';
  };
  const rss = (figures: readonly Figure[] | null): string => {
    const full = figureOf(figures, 'full');
    const csv = figureOf(figures, 'csv');
    if (full === undefined || csv === undefined) return 'not measured';
    return `${fmt(full.maxRssBytes / 2 ** 20)} / ${fmt(csv.maxRssBytes / 2 ** 20)} MiB`;
  };
  const rssValues = [generated, corpus].flatMap((f) =>
    [figureOf(f, 'full'), figureOf(f, 'csv')].map((x) => (x === undefined ? null : x.maxRssBytes / 2 ** 20)),
  );
  const rows = [
    '| measure | generated corpus | reference corpus | target | met |',
    '|---|---|---|---|---|',
    `| full analysis (summary only) vs tshark \`-Y smtp\` (tshark time ÷ ours) | ${cell(generated, 'tshark', 'full')} | ${cell(corpus, 'tshark', 'full')} | at least 30 × | ${met([ratioOf(generated, 'tshark', 'full'), ratioOf(corpus, 'tshark', 'full')], (v) => v >= 30)} |`,
    `| full analysis (summary only) vs the bare header walk | ${cell(generated, 'full', 'walk')} | ${cell(corpus, 'full', 'walk')} | at most 4 × | ${met([ratioOf(generated, 'full', 'walk'), ratioOf(corpus, 'full', 'walk')], (v) => v <= 4)} |`,
    `| read + decode + reassemble vs the walk | ${cell(generated, 'reassemble', 'walk')} | ${cell(corpus, 'reassemble', 'walk')} | at most 3 × | ${met([ratioOf(generated, 'reassemble', 'walk'), ratioOf(corpus, 'reassemble', 'walk')], (v) => v <= 3)} |`,
    `| 1 kB-message sessions per second (scaling table, 1 kB point) | ${oneKbSessionsPerSecond === null ? 'not measured' : fmt(oneKbSessionsPerSecond)} | (generated only) | at least 40,000 | ${met([oneKbSessionsPerSecond], (v) => v >= 40_000)} |`,
    `| peak RSS, summary only / all four CSVs | ${rss(generated)} | ${rss(corpus)} | at most 150 MB (143 MiB), flat (memory table) | ${met(rssValues, (v) => v <= 143)} |`,
    `| connection attempts (issue "Memory that does not grow with the output"): ${attempts === null ? '' : fmt(attempts.count)} SYNs, whole process | ${attempts === null ? 'not measured' : `${fmt(attempts.wallMs)} ms wall, ${fmt((1000 * attempts.wallMs) / attempts.count, 1)} µs per attempt (${fmt((1000 * attempts.childMs) / attempts.count, 1)} µs without Node's start-up)`} | (generated only) | under 2 s for 300,000 (scaled to the count), 2 µs per attempt | ${attempts === null ? 'not measured' : attempts.wallMs < (2000 * attempts.count) / 300_000 && (1000 * attempts.childMs) / attempts.count <= 2 ? 'yes' : 'no'} |`,
    tls === null || tls.summaryCpuRatio === null || tls.csvCpuRatio === null
      ? '| TLS-decrypted corpus vs the same sessions in clear | see "TLS decryption" (its own corpus and run) | | at most 2 × | |'
      : `| TLS-decrypted corpus vs the same sessions in clear, CPU (summary only / all four CSVs; "TLS decryption") | ${fmt(tls.summaryCpuRatio, 2)} × / ${fmt(tls.csvCpuRatio, 2)} × | (its own corpus) | at most 2 × | ${tls.summaryCpuRatio <= 2 && tls.csvCpuRatio <= 2 ? 'yes' : tls.summaryCpuRatio <= 2 || tls.csvCpuRatio <= 2 ? 'one of the two' : 'no'} |`,
  ];
  return (
    `Command: \`${command}\`. Every figure from the tables of this run (medians; the ratios are of times measured ` +
    'in the same run, runs interleaved, so load from other programs falls on both sides).\n\n' +
    `${rows.join('\n')}\n`
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (text: string): void => void process.stderr.write(`${text}\n`);
  const capturesDir = join(REPO, 'captures');
  const outDir = mkdtempSync(join(tmpdir(), 'smtpscope-bench-out-'));
  const tsharkPath = findTshark();
  const generated: Corpus[] = [];
  const sections = new Map<string, string>();
  const argsText = process.argv
    .slice(2)
    .filter((a) => a !== '--write-doc')
    .join(' ');
  const command = `npm run bench${argsText === '' ? '' : ` -- ${argsText}`}`;
  /** Measures the main table's modes on `files` (and tshark on the pcap); its section text. */
  const mainSection = (
    files: readonly { format: string; path: string }[],
    description: string,
    isCorpus: boolean,
  ): { figures: Figure[]; text: string } => {
    const useTshark = options.tshark ?? tsharkPath !== null;
    if (useTshark && tsharkPath === null) throw new Error('--tshark: tshark is not installed');
    let tshark: TsharkInput | null = null;
    let tsharkNote = '';
    const pcapFile = files.find((f) => f.format === 'pcap');
    const tsharkMaxMb = options.tsharkMaxMb ?? (isCorpus ? Number.POSITIVE_INFINITY : 100);
    const tsharkRuns = options.tsharkRuns ?? (isCorpus ? 1 : options.runs);
    if (useTshark && tsharkPath !== null && pcapFile !== undefined) {
      const whole = statSync(pcapFile.path).size;
      if (whole <= tsharkMaxMb * MB) {
        tshark = {
          exe: tsharkPath,
          path: pcapFile.path,
          scale: 1,
          label: 'tshark (whole process, see below)',
        };
      } else {
        const prefixPath = join(outDir, 'tshark-prefix.pcap');
        const prefixBytes = writePcapPrefix(pcapFile.path, prefixPath, tsharkMaxMb * MB);
        const scale = whole / prefixBytes;
        tshark = {
          exe: tsharkPath,
          path: prefixPath,
          scale,
          label: `tshark on the first ${fmt(prefixBytes / MB)} MB, time × ${fmt(scale, 2)} (see below)`,
        };
        tsharkNote =
          ` tshark read only the first ${fmt(prefixBytes / MB)} MB of the pcap (whole packets, \`--tshark-max-mb\`` +
          ` ${tsharkMaxMb}): its time is that run's time multiplied by the size ratio ${fmt(scale, 2)}, its peak` +
          " RSS is the prefix run's (tshark's memory grows with the file, so the whole file would need more).";
      }
      // Warm the page cache and tshark's own files (not on a whole reference corpus: a run there takes minutes).
      if (!isCorpus) runTsharkMeasurement(tshark.exe, tshark.path);
    }
    log(`measuring ${description}`);
    const figures = measureFiles(files, options.modes, options.runs, tshark, tsharkRuns, outDir, log);
    const text =
      `Command: \`${command}\`. Machine: ${machine()}. Input: ${description}. ` +
      `Median of ${options.runs} runs per figure${tsharkRuns === options.runs ? '' : ` (tshark: ${tsharkRuns})`}, each in its own child process, the runs of all rows interleaved.\n\n` +
      `${mainTable(figures)}\n\n` +
      'Node rows time the work inside the child process (from opening the file to the last sink closed), not ' +
      "Node's start-up; peak RSS is the child's `ru_maxrss`. The tshark row is the whole process under " +
      `\`/usr/bin/time\`: \`tshark -r FILE ${TSHARK_ARGS.join(' ')}\`.${tsharkNote}\n`;
    process.stdout.write(`\n${text}\n`);
    return { figures, text };
  };
  const corpusFiles = (path: string) => {
    const format = readFileSync(path).subarray(0, 4).readUInt32LE(0) === 0x0a0d0d0a ? 'pcapng' : 'pcap';
    return {
      files: [{ format, path }],
      description: `an existing capture of ${fmt(statSync(path).size / MB)} MB`,
    };
  };
  try {
    if (options.tlsCorpus !== null) {
      log(`measuring the TLS corpus in ${options.tlsCorpus}`);
      const { text } = tlsSection(options.tlsCorpus, options.runs, outDir, command, log);
      process.stdout.write(`\n${text}\n`);
      if (options.writeDoc) {
        const docPath = join(REPO, 'docs', 'PERFORMANCE.md');
        writeFileSync(docPath, replaceSection(readFileSync(docPath, 'utf8'), 'tls-results', text));
        log(`wrote ${docPath}`);
      }
      return;
    }
    /** The generated corpus's main table, and the existing capture's (--corpus, --with-corpus). */
    let generatedFigures: Figure[] | null = null;
    let corpusFigures: Figure[] | null = null;
    let oneKbSessionsPerSecond: number | null = null;
    if (options.corpus !== null) {
      const { files, description } = corpusFiles(options.corpus);
      const main = mainSection(files, description, true);
      corpusFigures = main.figures;
      sections.set('corpus-results', main.text);
    } else {
      const spec: CorpusSpec = {
        name: `mixed-${options.sizeMb}MB`,
        sizeBytes: options.sizeMb * MB,
        concurrency: 200,
        smtpShare: 2 / 3,
        smtp: 'mixed',
        seed: 1,
        stepMicros: 10,
      };
      log(`building the ${options.sizeMb} MB corpus...`);
      const corpus = await buildCorpus(spec, capturesDir);
      generated.push(corpus);
      const main = mainSection(
        [
          { format: 'pcap', path: corpus.pcapPath },
          { format: 'pcapng', path: corpus.pcapngPath },
        ],
        `the generated corpus: ${fmt(corpus.pcapBytes / MB)} MB as pcap (${fmt(corpus.pcapngBytes / MB)} MB as pcapng), ` +
          `${fmt(corpus.packets)} packets, ${fmt(corpus.smtpSessions)} SMTP sessions, ` +
          `${fmt((100 * corpus.smtpFrameBytes) / corpus.pcapBytes)} % SMTP by bytes, 200 connections open at once`,
        false,
      );
      generatedFigures = main.figures;
      sections.set('results', main.text);
      if (options.withCorpus !== null) {
        const { files, description } = corpusFiles(options.withCorpus);
        const second = mainSection(files, description, true);
        corpusFigures = second.figures;
        sections.set('corpus-results', second.text);
      }
    }
    const figures = generatedFigures ?? corpusFigures ?? [];
    let text = '';

    if (options.scaling) {
      const rows: { point: ScalingPoint; corpus: Corpus; figure: Figure }[] = [];
      const points = scalingPoints(2);
      const built: { point: ScalingPoint; corpus: Corpus }[] = [];
      for (const point of points) {
        log(`building scaling corpus ${point.spec.name}...`);
        const corpus = await buildCorpus(point.spec, capturesDir);
        generated.push(corpus);
        built.push({ point, corpus });
      }
      const figures2 = measureFiles(
        built.map((b) => ({ format: b.point.spec.name, path: b.corpus.pcapPath })),
        ['full'],
        options.runs,
        null,
        0,
        outDir,
        log,
      );
      for (const b of built)
        rows.push({ ...b, figure: figures2.find((f) => f.format === b.point.spec.name)! });
      const oneKb = rows.find((r) => r.point.spec.name === 'scale-msg-1000');
      if (oneKb !== undefined) oneKbSessionsPerSecond = oneKb.corpus.smtpSessions / (oneKb.figure.ms / 1000);
      // File size: the main corpus at a third of its size, same shape.
      if (options.corpus === null) {
        const small = await buildCorpus(
          {
            name: `mixed-${Math.round(options.sizeMb / 3)}MB`,
            sizeBytes: (options.sizeMb / 3) * MB,
            concurrency: 200,
            smtpShare: 2 / 3,
            smtp: 'mixed',
            seed: 1,
            stepMicros: 10,
          },
          capturesDir,
        );
        generated.push(small);
        const [fig] = measureFiles(
          [{ format: 'small', path: small.pcapPath }],
          ['full'],
          options.runs,
          null,
          0,
          outDir,
          log,
        );
        const big = figures.find((f) => f.format === 'pcap' && f.label === MODE_LABELS.full)!;
        const mixedPoint = (name: string, spec: CorpusSpec): ScalingPoint => ({
          dimension: 'file size (main corpus shape)',
          point: name,
          spec,
        });
        rows.unshift(
          { point: mixedPoint(`${fmt(small.pcapBytes / MB)} MB`, small.spec), corpus: small, figure: fig! },
          {
            point: mixedPoint(`${fmt(generated[0]!.pcapBytes / MB)} MB`, generated[0]!.spec),
            corpus: generated[0]!,
            figure: big,
          },
        );
      }
      text =
        'Full analysis (summary only) of classic pcap files, SMTP only unless stated, built by the same generator: ' +
        'synthetic sessions of one shape (default 20 kB messages, 2 recipients, pipelined, 100 connections open ' +
        'at once), changing one dimension at a time; each file is about 50 MB.\n\n' +
        `${scalingTable(rows)}\n`;
      process.stdout.write(`\n${text}\n`);
      sections.set('scaling', text);
    }

    if (options.memory.length > 0) {
      const rows = [
        '| file | packets | SMTP sessions | wall s | MB/s | peak RSS MiB | with all four CSVs: wall s | peak RSS MiB |',
        '|--:|--:|--:|--:|--:|--:|--:|--:|',
      ];
      for (const mb of options.memory) {
        const spec: CorpusSpec = {
          name: `mixed-${mb}MB`,
          sizeBytes: mb * MB,
          concurrency: 200,
          smtpShare: 2 / 3,
          smtp: 'mixed',
          seed: 1,
          stepMicros: 10,
        };
        log(`building the ${mb} MB corpus for the memory measurement...`);
        const corpus = await buildCorpus(spec, capturesDir);
        runNodeMeasurement('read', corpus.pcapPath, outDir);
        const m = runNodeMeasurement('full', corpus.pcapPath, outDir);
        const c = runNodeMeasurement('csv', corpus.pcapPath, outDir);
        log(
          `  ${mb} MB: ${m.ms.toFixed(0)} ms, ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB; with CSVs ${c.ms.toFixed(0)} ms, ${(c.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
        rows.push(
          `| ${fmt(corpus.pcapBytes / MB)} MB | ${fmt(corpus.packets)} | ${fmt(corpus.smtpSessions)} | ${fmt(m.ms / 1000, 1)} | ${fmt(corpus.pcapBytes / MB / (m.ms / 1000))} | ${fmt(m.maxRssBytes / 2 ** 20)} | ${fmt(c.ms / 1000, 1)} | ${fmt(c.maxRssBytes / 2 ** 20)} |`,
        );
        if (!options.keep) removeCorpus(corpus);
      }
      text =
        `Command: \`${command}\`. Machine: ${machine()}. Full analysis of the main corpus shape at growing ` +
        'sizes, with the summary only and with all four CSV files, one run each (the page cache warmed by a plain ' +
        'read first).\n\n' +
        `${rows.join('\n')}\n`;
      process.stdout.write(`\n${text}\n`);
      sections.set('memory', text);
    }

    let attempts: AttemptFigures | null = null;
    if (options.attempts > 0) {
      const path = join(outDir, 'attempts.pcap');
      log(`writing ${fmt(options.attempts)} connection attempts...`);
      writeSynFlood(path, { connections: options.attempts });
      runNodeMeasurement('read', path, outDir);
      const inChild: Measurement[] = [];
      const whole: ProcessMeasurement[] = [];
      for (let r = 0; r < options.runs; r++) {
        const m = runNodeMeasurement('full', path, outDir);
        const p = runCliMeasurement(PRODUCT_CLI, [path, '--summary']);
        log(
          `  run ${r + 1}/${options.runs} attempts: ${m.ms.toFixed(0)} ms in the child; whole process ${p.wallMs.toFixed(0)} ms wall, ${p.cpuMs.toFixed(0)} ms CPU, ${(p.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
        inChild.push(m);
        whole.push(p);
      }
      rmSync(path, { force: true });
      attempts = {
        count: options.attempts,
        childMs: median(inChild.map((m) => m.ms)),
        wallMs: median(whole.map((p) => p.wallMs)),
        cpuMs: median(whole.map((p) => p.cpuMs)),
        maxRssBytes: Math.max(...whole.map((p) => p.maxRssBytes)),
      };
      text =
        `Command: \`${command}\`. Machine: ${machine()}. ${fmt(attempts.count)} bare SYNs to port 25 from distinct ` +
        "clients, 10 µs apart, and one complete session among them (the adversarial generator's flood, " +
        'test/harness/adversarial/scenarios.ts), analysed with the summary only; median of ' +
        `${options.runs} runs.\n\n` +
        '| measure | median | per attempt |\n|---|--:|--:|\n' +
        `| analysis inside the child process (opening the file to the summary) | ${fmt(attempts.childMs)} ms | ${fmt((1000 * attempts.childMs) / attempts.count, 1)} µs |\n` +
        `| whole process, wall (\`smtpscope FILE --summary\`, Node's start-up included) | ${fmt(attempts.wallMs)} ms | ${fmt((1000 * attempts.wallMs) / attempts.count, 1)} µs |\n` +
        `| whole process, CPU (user + system) | ${fmt(attempts.cpuMs)} ms | ${fmt((1000 * attempts.cpuMs) / attempts.count, 1)} µs |\n` +
        `| whole process, peak RSS | ${fmt(attempts.maxRssBytes / 2 ** 20)} MiB | |\n`;
      process.stdout.write(`\n${text}\n`);
      sections.set('attempts', text);
    }

    let tls: TlsFigures | null = null;
    if (options.withTlsCorpus !== null) {
      log(`measuring the TLS corpus in ${options.withTlsCorpus}`);
      tls = tlsSection(options.withTlsCorpus, options.runs, outDir, command, log);
      process.stdout.write(`\n${tls.text}\n`);
      sections.set('tls-results', tls.text);
    }

    if (generatedFigures !== null || corpusFigures !== null) {
      text = targetsText(command, generatedFigures, corpusFigures, oneKbSessionsPerSecond, attempts, tls);
      process.stdout.write(`\n${text}\n`);
      sections.set('targets', text);
    }

    if (options.writeDoc) {
      const docPath = join(REPO, 'docs', 'PERFORMANCE.md');
      let doc = readFileSync(docPath, 'utf8');
      for (const [name, body] of sections) doc = replaceSection(doc, name, body);
      writeFileSync(docPath, doc);
      log(`wrote ${docPath}`);
    }
    if (tsharkPath !== null && options.tshark === false) log('tshark left out (--no-tshark)');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    if (!options.keep) for (const c of generated) removeCorpus(c);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
