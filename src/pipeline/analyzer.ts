/**
 * The analysis pipeline: sources → decode → reassembly → SMTP decoder → session model → sinks.
 *
 * Each input is analysed on its own (its connections do not continue into the next file); sessions go to the
 * sinks in the order they close, and leave memory as they do. The analyzer can be looked at while it runs
 * (`snapshot()`, for the dashboard) and stopped (`stop()`, for signals): open sessions are then closed as
 * incomplete and every sink is flushed, so nothing already decoded is lost.
 */

import { openFileSource } from '../capture/open-file.js';
import type { PacketSource, PacketView, SourceStats, SourceWarning } from '../capture/types.js';
import { createPacketDecoder } from '../decode/packet-decoder.js';
import type { DecodeCounters, DecoderOptions, MalformedKind, SkipReason } from '../decode/types.js';
import { type AttemptFate, type ConnectionAttempt, NO_ATTEMPTS } from '../model/connection-attempt.js';
import { createSessionBuilder, type SessionBuilder, type SessionLimits } from '../model/session-builder.js';
import type { MessageBodyListener, RunStats, RunSummary, Sink, Snapshot } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { compileBpf } from '../query/bpf.js';
import { createAssembler } from '../reassembly/assembler.js';
import { DEFAULT_ASSEMBLER_OPTIONS, DEFAULT_SMTP_PORTS } from '../reassembly/options.js';
import type { AssemblerShard } from '../reassembly/shard.js';
import type {
  AssemblerOptions,
  AssemblerStats,
  CloseReason,
  FlowKey,
  FlowStats,
} from '../reassembly/types.js';
import { createContentDetector } from '../smtp/content-detector.js';
import { createSmtpStreamFactory } from '../smtp/stream-factory.js';
import type { SmtpDecoderOptions } from '../smtp/types.js';
import { createAttemptGate } from './attempt-gate.js';
import { sessionLimitsForSinks } from './config-for-sinks.js';
import { createAttemptCounter, mergeAttemptStats } from './connection-attempts.js';
import { ConnectionHandler, type SessionHost } from './connection-handler.js';
import { createMemoryBudget, mergeBudgetStats, NO_BUDGET } from './memory-budget.js';
import { runPacketLoop, type WildTimestamps } from './packet-loop.js';
import { createTlsKeys, type TlsAnalyzerConfig, type TlsInputKeys } from './tls-keys.js';

export type InputSpec =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'source'; readonly open: () => Promise<PacketSource> };

export interface AnalyzerConfig {
  readonly inputs: readonly InputSpec[];
  readonly ports?: ReadonlySet<number>;
  readonly decoder?: Partial<DecoderOptions>;
  readonly assembler?: Partial<AssemblerOptions>;
  readonly smtp?: Partial<SmtpDecoderOptions>;
  readonly session?: Partial<SessionLimits>;
  readonly bodyListener?: MessageBodyListener;
  /** Sees every captured packet (the `-w` writer). */
  readonly tap?: (packet: PacketView) => void;
  /** `-f` on capture files: a pcap-filter subset (query/bpf.ts) each decoded TCP segment must match; text, so it crosses to workers. */
  readonly segmentFilter?: string;
  /** Called for each source warning as soon as the source reports it. */
  readonly onWarning?: (warning: SourceWarning, source: string) => void;
  /**
   * The global memory budget in bytes (memory-budget.ts); absent: none. Not applied with `shard` (the result
   * of a split must not depend on each thread's memory).
   */
  readonly memoryBudgetBytes?: number;
  /** Analyse only one shard of the connections (pipeline/sharded.ts), told between packets where it is. */
  readonly shard?: AnalyzerShard;
  /**
   * TLS key logs (pipeline/tls-keys.ts). Decryption secrets blocks of pcapng inputs are read with or without it;
   * `smtp.tlsDecryptors`, when set, replaces the decryptors built from them.
   */
  readonly tls?: TlsAnalyzerConfig;
}

export interface AnalyzerShard extends AssemblerShard {
  /** Called between packets every `boundaryEvery` packets (where the shard may post its events and wait). */
  onBoundary(): void;
  readonly boundaryEvery: number;
}

export interface Analyzer {
  /** Runs to the end of every input (or until stop()); resolves once every sink is closed. */
  run(): Promise<RunSummary>;
  /** Stops reading; open sessions are closed as incomplete and every sink flushed. */
  stop(): void;
  /** What the analysis looks like now. */
  snapshot(): Snapshot;
}

/** How often a live source's clock moves the packet clock while no packet comes. */
export const CLOCK_TICK_MS = 1000;

/**
 * Sessions (and attempt records) waiting for slow sinks before the source is held back: past it, reading waits
 * until every queued delivery is done (docs/LIMITS.md, "Back-pressure"). The backlog is then at most this plus
 * what one chunk of input closes (a 1 MiB read), whatever the length of the input and the speed of the disk.
 */
export const MAX_QUEUED_DELIVERIES = 256;

const ZERO_SOURCE: SourceStats = { packets: 0, bytes: 0, storedBytes: 0, dropped: 0, truncated: 0 };

export function createAnalyzer(config: AnalyzerConfig, sinks: readonly Sink[]): Analyzer {
  const ports = config.ports ?? DEFAULT_SMTP_PORTS;
  /** SMTP on other ports is found by its content (content-detector.ts) unless `assembler.detect` is false. */
  const detect = config.assembler?.detect ?? true;
  // Compiled here, in each worker too (the CLI compiled it once already to report errors as usage errors).
  const segmentFilter = config.segmentFilter === undefined ? null : compileBpf(config.segmentFilter);
  const sessionLimits = sessionLimitsForSinks(config.session, sinks);
  const open = new Map<string, SessionBuilder>();
  /** Connections seen whose decoder has not spoken yet (no session model made: see handlerFor). */
  let awaitingFirstEvent = 0;
  let sessionsClosed = 0;
  let current: PacketSource | null = null;
  let stopped = false;
  let firstTs: number | null = null;
  let lastTs: number | null = null;
  const finishedSources: SourceStats[] = [];
  const finishedDecode: DecodeCounters[] = [];
  const finishedAssembler: AssemblerStats[] = [];
  const attemptCounter = createAttemptCounter();
  /** Sinks that take one record per attempt; none unless asked (`--connection-attempts`). */
  const attemptSinks = sinks.filter((s) => s.connectionAttempt !== undefined);
  /** Connections of the input being read that have neither carried a byte nor closed. */
  let liveWaiting: (() => number) | null = null;
  let liveDecode: (() => DecodeCounters) | null = null;
  let liveAssembler: (() => AssemblerStats) | null = null;
  const warnings: SourceWarning[] = [];
  const tlsKeys = createTlsKeys(config.tls);
  /**
   * The SMTP options of one input. Decryption is on from the moment key material is known (a --tls-keylog file,
   * or this capture's secrets block), decided as each connection's TLS starts (pipeline/tls-keys.ts). A capture
   * without any key stays exactly as without decryption.
   */
  const smtpOptionsFor = (keys: TlsInputKeys): Partial<SmtpDecoderOptions> => ({
    ...config.smtp,
    tlsDecryptors: config.smtp?.tlsDecryptors ?? keys.factory,
  });
  /**
   * Sessions reach the sinks one after another, in the order they closed, each sink finishing a session before
   * the next sink (or session) gets it. While no earlier delivery is waiting on a promise, a session goes to
   * the sinks at once, from the packet loop: held until the end of the current read instead, the sessions
   * closed in a 1 MiB read (hundreds, with small messages) survived young-generation collections and were
   * copied and promoted, which cost more than the analysis. A sink that returns a promise makes the rest of
   * that session and every later one wait for it on the chain, as before. After a sink fails, no later session
   * is delivered and run() rejects with the first error.
   */
  let delivery: Promise<void> = Promise.resolve();
  let deliveryError: unknown = null;
  let failed = false;
  /** Sessions whose delivery is queued on `delivery`. */
  let queued = 0;
  /** Times reading waited for the sinks (back-pressure), for the tests and the summary. */
  let pauses = 0;
  /** The global memory budget, checked between chunks of input (memory-budget.ts). */
  const budget =
    config.memoryBudgetBytes === undefined || config.shard !== undefined
      ? null
      : createMemoryBudget(config.memoryBudgetBytes);
  /** The assembler of the input being read, for the budget's shedding. */
  let liveShed: { open: () => number; shed: (count: number) => number } | null = null;
  /** Between chunks of input: keep the budget, and hold the source back while the sinks are behind. */
  const ready = (): Promise<void> | null => {
    if (budget !== null && liveShed !== null) budget.check(liveShed.open(), liveShed.shed);
    if (queued < MAX_QUEUED_DELIVERIES) return null;
    pauses++;
    return delivery;
  };

  /** Aborts an input still being opened (standard input that has not sent its first bytes) on stop(). */
  const opening = new AbortController();
  const stop = (): void => {
    stopped = true;
    opening.abort();
    void current?.close();
  };
  /** A sink failed: nothing more can be delivered, so reading stops now rather than at the end of the input. */
  const fail = (error: unknown): void => {
    failed = true;
    deliveryError ??= error;
    stop();
  };

  const deliverFrom = async (session: SmtpSession, first: number): Promise<void> => {
    for (let i = first; i < sinks.length; i++) await sinks[i]?.sessionClosed(session);
  };

  const enqueue = (work: () => Promise<void>): void => {
    queued++;
    delivery = delivery
      .then(() => (failed ? undefined : work()))
      .then(
        () => {
          queued--;
        },
        (error: unknown) => {
          queued--;
          fail(error);
        },
      );
  };

  const deliver = (builder: SessionBuilder): void => {
    if (failed) return;
    const session = builder.finishNow();
    if (queued > 0) {
      enqueue(() => deliverFrom(session, 0));
      return;
    }
    for (let i = 0; i < sinks.length; i++) {
      let result: void | Promise<void>;
      try {
        result = sinks[i]?.sessionClosed(session);
      } catch (error) {
        fail(error);
        return;
      }
      if (result !== undefined) {
        const waiting = result;
        enqueue(() => waiting.then(() => deliverFrom(session, i + 1)));
        return;
      }
    }
  };

  const deliverAttempt = (attempt: ConnectionAttempt): void => {
    if (failed) return;
    const to = async (): Promise<void> => {
      for (const sink of attemptSinks) await sink.connectionAttempt?.(attempt);
    };
    if (queued > 0) {
      enqueue(to);
      return;
    }
    for (let i = 0; i < attemptSinks.length; i++) {
      let result: void | Promise<void>;
      try {
        result = attemptSinks[i]?.connectionAttempt?.(attempt);
      } catch (error) {
        fail(error);
        return;
      }
      if (result !== undefined) {
        const waiting = result;
        enqueue(async () => {
          await waiting;
          for (let k = i + 1; k < attemptSinks.length; k++)
            await attemptSinks[k]?.connectionAttempt?.(attempt);
        });
        return;
      }
    }
  };

  /** Each connection's session model: made at its decoder's first call, delivered at its close. */
  const host: SessionHost = {
    open(flow: FlowKey): SessionBuilder {
      const builder = createSessionBuilder(flow, sessionLimits, flow.server.port === 24);
      open.set(flow.id, builder);
      awaitingFirstEvent--;
      return builder;
    },
    close(flow: FlowKey, builder: SessionBuilder): void {
      open.delete(flow.id);
      sessionsClosed++;
      deliver(builder);
    },
  };

  const handlerFor = (flow: FlowKey, body: MessageBodyListener | undefined): ConnectionHandler => {
    // The session model is made at the connection's first event, not when the connection is seen. A connection
    // that never carries a byte (a SYN flood) never gets here: the attempt gate counts it instead.
    awaitingFirstEvent++;
    return new ConnectionHandler(flow, host, body);
  };

  const stats = (): RunStats => {
    const sourceStats = current === null ? ZERO_SOURCE : current.stats();
    const all = current === null ? finishedSources : [...finishedSources, sourceStats];
    return {
      source: sumSourceStats(all),
      decode: sumDecodeCounters(liveDecode === null ? finishedDecode : [...finishedDecode, liveDecode()]),
      assembler: sumAssemblerStats(
        liveAssembler === null ? finishedAssembler : [...finishedAssembler, liveAssembler()],
      ),
      sessionsClosed,
      sessionsOpen: open.size + awaitingFirstEvent,
      attempts: attemptCounter.stats(),
      connectionsWaiting: liveWaiting === null ? 0 : liveWaiting(),
      sinkWaits: pauses,
      budget: budget === null ? NO_BUDGET : budget.stats(),
      firstTsMicros: firstTs,
      lastTsMicros: lastTs,
    };
  };

  const runOne = async (
    input: InputSpec,
    index: number,
    many: boolean,
  ): Promise<{ description: string; format: string; compressed: boolean } | null> => {
    let source: PacketSource;
    const inputKeys = tlsKeys.forInput(input.kind === 'file' ? input.path : `input ${index + 1}`);
    try {
      source =
        input.kind === 'file'
          ? await openFileSource(input.path, {
              signal: opening.signal,
              onSecrets: inputKeys.onSecrets,
            })
          : await input.open();
    } catch (error) {
      // Stopped while the input was still being opened: there is nothing to read, and nothing went wrong.
      if (stopped) return null;
      throw error;
    }
    current = source;
    // Content detection (on unless the assembler options turn it off) needs every TCP segment decoded.
    const decoder = createPacketDecoder({ ...config.decoder, ports: detect ? null : ports });
    const prefix = many ? `${index + 1}-` : '';
    const factory = createSmtpStreamFactory(
      (flow) =>
        handlerFor(prefix === '' ? flow : { ...flow, id: `${prefix}${flow.id}` }, config.bodyListener),
      smtpOptionsFor(inputKeys),
    );
    const recordAttempt = (flow: FlowKey, fate: AttemptFate, reason: CloseReason, flowStats: FlowStats) =>
      deliverAttempt({
        id: prefix === '' ? flow.id : `${prefix}${flow.id}`,
        client: flow.client,
        server: flow.server,
        fate,
        closeReason: reason,
        firstTsMicros: flowStats.firstTsMicros,
        lastTsMicros: flowStats.lastTsMicros,
        packetsC2s: flowStats.c2s.packets,
        packetsS2c: flowStats.s2c.packets,
      });
    const attempts = createAttemptGate(factory, {
      attempt(flow, fate, reason, flowStats) {
        attemptCounter.add(flow, fate);
        if (attemptSinks.length > 0) recordAttempt(flow, fate, reason, flowStats);
      },
      // An attempt closed in the assembler's SYN table: its key and text are made only for a record.
      unopened(connection, fate, reason) {
        attemptCounter.addUnopened(connection, fate);
        if (attemptSinks.length > 0) recordAttempt(connection.flow(), fate, reason, connection.stats());
      },
    });
    // Connections on other ports reach the attempt gate only once their content says SMTP.
    const gate = detect ? createContentDetector(attempts, ports) : attempts;
    const budgetBytes = config.memoryBudgetBytes;
    // The out-of-order buffers draw at most a quarter of the budget (memory-budget.ts).
    const assemblerOptions =
      budgetBytes === undefined || config.shard !== undefined
        ? { ...config.assembler, ports, detect }
        : {
            ...config.assembler,
            ports,
            detect,
            maxBufferedBytesTotal: Math.min(
              config.assembler?.maxBufferedBytesTotal ?? DEFAULT_ASSEMBLER_OPTIONS.maxBufferedBytesTotal,
              Math.floor(budgetBytes / 4),
            ),
          };
    const assembler = createAssembler(gate, assemblerOptions, config.shard);
    // Waiting: connections at the gate, and those the assembler keeps in its SYN table (no handler yet).
    liveWaiting = () => attempts.waiting + assembler.unopened();
    liveShed = { open: () => assembler.stats().openFlows, shed: (n) => assembler.shedOldest(n) };
    const shard = config.shard;
    liveDecode = () => decoder.counters();
    liveAssembler = () => assembler.stats();
    // A source stamped on arrival moves the packet clock while no packet comes (idle timeouts on a quiet link).
    const clock = source.nowMicros;
    const ticker =
      clock === undefined ? null : setInterval(() => assembler.advance(clock()), CLOCK_TICK_MS).unref();
    try {
      if (!stopped) {
        const result = await runPacketLoop(source, decoder, assembler, {
          checkTimestamps: clock === undefined,
          ...(config.tap === undefined ? {} : { tap: config.tap }),
          ...(segmentFilter === null ? {} : { accept: segmentFilter }),
          ready,
          ...(shard === undefined ? {} : { tick: shard.onBoundary, tickEvery: shard.boundaryEvery }),
        });
        if (result.firstTsMicros !== null)
          firstTs = firstTs === null ? result.firstTsMicros : Math.min(firstTs, result.firstTsMicros);
        if (result.lastTsMicros !== null)
          lastTs = lastTs === null ? result.lastTsMicros : Math.max(lastTs, result.lastTsMicros);
        const wild = wildTimestampWarning(result.wildTimestamps);
        if (wild !== null) {
          warnings.push(wild);
          config.onWarning?.(wild, source.description);
        }
      }
    } finally {
      if (ticker !== null) clearInterval(ticker);
      assembler.flushAll('end-of-capture');
      for (const w of source.warnings()) {
        warnings.push(w);
        config.onWarning?.(w, source.description);
      }
      // Malformed lines of the key logs this input carried (its pcapng decryption secrets blocks).
      for (const { source: where, warning } of inputKeys.takeWarnings()) {
        if (warnings.length < 1000) warnings.push(warning);
        config.onWarning?.(warning, where);
      }
      finishedSources.push(source.stats());
      finishedDecode.push(decoder.counters());
      finishedAssembler.push(assembler.stats());
      liveDecode = null;
      liveAssembler = null;
      liveWaiting = null;
      liveShed = null;
      current = null;
      await source.close();
    }
    return { description: source.description, format: source.format, compressed: source.compressed };
  };

  return {
    async run(): Promise<RunSummary> {
      const started = Date.now();
      const sources: { description: string; format: string; compressed: boolean }[] = [];
      let failure: unknown = null;
      try {
        // The key log files' own problems are the command line's to report (once, before any thread starts).
        await tlsKeys.start();
        for (let i = 0; i < config.inputs.length && !stopped; i++) {
          const input = config.inputs[i];
          const opened = input === undefined ? null : await runOne(input, i, config.inputs.length > 1);
          if (opened !== null) sources.push(opened);
        }
      } catch (error) {
        failure = error;
      }
      await tlsKeys.stop();
      await delivery.catch(() => undefined);
      const summary: RunSummary = { sources, stats: stats(), warnings, wallMs: Date.now() - started };
      for (const sink of sinks) await sink.close(summary);
      if (failure !== null) throw failure;
      if (deliveryError !== null) throw deliveryError;
      return summary;
    },
    stop,
    snapshot(): Snapshot {
      return { stats: stats(), open: [...open.values()].map((b) => b.peek()) };
    },
  };
}

/** The capture-quality warning for packets whose own time was not used; null when there were none. */
export function wildTimestampWarning(wild: WildTimestamps): SourceWarning | null {
  if (wild.first === null) return null;
  const { index, tsMicros, usedMicros } = wild.first;
  const days = Math.abs(tsMicros - usedMicros) / 86_400e6;
  const distance =
    days >= 365
      ? `${(days / 365.25).toFixed(1)} years`
      : days >= 1
        ? `${days.toFixed(1)} days`
        : `${Math.round((days * 86_400) / 60)} minutes`;
  return {
    code: 'wild-timestamp',
    byteOffset: null,
    packetsBefore: index,
    message: `${wild.count} packet(s) stamped far outside the capture's running time (the first, packet ${index + 1}, ${distance} ${tsMicros > usedMicros ? 'after' : 'before'} the packets around it): decoded at the running time, so it did not expire connections`,
  };
}

/** Runs the analysis and returns every session with the summary (tests, small captures, one-shot commands). */
export async function analyzeToArray(
  config: AnalyzerConfig,
): Promise<{ sessions: SmtpSession[]; summary: RunSummary }> {
  const sessions: SmtpSession[] = [];
  const sink: Sink = {
    name: 'array',
    sessionClosed(session) {
      sessions.push(session);
    },
    async close() {},
  };
  const summary = await createAnalyzer(config, [sink]).run();
  return { sessions, summary };
}

/** The statistics of several runs (inputs) added up, as one run's (the parallel analyzer merges its workers'). */
export function mergeRunStats(all: readonly RunStats[]): RunStats {
  let first: number | null = null;
  let last: number | null = null;
  for (const s of all) {
    if (s.firstTsMicros !== null) first = first === null ? s.firstTsMicros : Math.min(first, s.firstTsMicros);
    if (s.lastTsMicros !== null) last = last === null ? s.lastTsMicros : Math.max(last, s.lastTsMicros);
  }
  return {
    source: sumSourceStats(all.map((s) => s.source)),
    decode: sumDecodeCounters(all.map((s) => s.decode)),
    assembler: sumAssemblerStats(all.map((s) => s.assembler)),
    sessionsClosed: all.reduce((n, s) => n + s.sessionsClosed, 0),
    sessionsOpen: all.reduce((n, s) => n + s.sessionsOpen, 0),
    attempts: all.length === 0 ? NO_ATTEMPTS : mergeAttemptStats(all.map((s) => s.attempts)),
    connectionsWaiting: all.reduce((n, s) => n + s.connectionsWaiting, 0),
    sinkWaits: all.reduce((n, s) => n + s.sinkWaits, 0),
    budget: mergeBudgetStats(all.map((s) => s.budget)),
    firstTsMicros: first,
    lastTsMicros: last,
  };
}

function sumSourceStats(all: readonly SourceStats[]): SourceStats {
  let packets = 0;
  let bytes = 0;
  let storedBytes = 0;
  let truncated = 0;
  let dropped: number | null = 0;
  for (const s of all) {
    packets += s.packets;
    bytes += s.bytes;
    storedBytes += s.storedBytes;
    truncated += s.truncated;
    dropped = dropped === null || s.dropped === null ? null : dropped + s.dropped;
  }
  return { packets, bytes, storedBytes, dropped, truncated };
}

function addCounts<K extends string>(
  into: Partial<Record<K, number>>,
  from: Readonly<Partial<Record<K, number>>>,
): void {
  for (const key of Object.keys(from) as K[]) into[key] = (into[key] ?? 0) + (from[key] ?? 0);
}

function sumDecodeCounters(all: readonly DecodeCounters[]): DecodeCounters {
  const skipped: Partial<Record<SkipReason, number>> = {};
  const malformed: Partial<Record<MalformedKind, number>> = {};
  let tcp = 0;
  let fragmentsReassembled = 0;
  let fragmentSetsDropped = 0;
  for (const c of all) {
    tcp += c.tcp;
    fragmentsReassembled += c.fragmentsReassembled;
    fragmentSetsDropped += c.fragmentSetsDropped;
    addCounts(skipped, c.skipped);
    addCounts(malformed, c.malformed);
  }
  return { tcp, skipped, malformed, fragmentsReassembled, fragmentSetsDropped };
}

export function sumAssemblerStats(all: readonly AssemblerStats[]): AssemblerStats {
  const out = {
    openFlows: 0,
    totalFlows: 0,
    bufferedBytes: 0,
    gaps: 0,
    overlapsDiffering: 0,
    retransmissions: 0,
    limitHits: { perDirection: 0, total: 0, connections: 0 },
    orphanSegments: 0,
    declined: 0,
  };
  for (const s of all) {
    out.openFlows += s.openFlows;
    out.totalFlows += s.totalFlows;
    out.bufferedBytes += s.bufferedBytes;
    out.gaps += s.gaps;
    out.overlapsDiffering += s.overlapsDiffering;
    out.retransmissions += s.retransmissions;
    out.limitHits.perDirection += s.limitHits.perDirection;
    out.limitHits.total += s.limitHits.total;
    out.limitHits.connections += s.limitHits.connections;
    out.orphanSegments += s.orphanSegments;
    out.declined += s.declined;
  }
  return out;
}
