/**
 * The import rule of docs/ARCHITECTURE.md ("Layers and what may import what"), checked on the import lines
 * of every file under src/:
 *
 *  - The pure core (util, capture, decode, reassembly, tls, smtp, model) imports no `node:` module, except
 *    node:crypto in tls and the capture layer's source adapters (CAPTURE_ADAPTERS: files, libpcap, privileges),
 *    and nothing from pipeline/, cli/, report/, text/, dashboard/, fleet/ or the entry point.
 *  - A core layer imports only layers below it (util < capture < decode < reassembly < tls < smtp < model),
 *    and only through their contract files (CONTRACTS) or knowledge tables (KNOWLEDGE); util is open to all.
 *  - The outputs (report/, text/, fleet/) never import the pipeline, the front ends (cli/, dashboard/) or the
 *    entry point; report/ never imports text/ (text/ renders report rows for a terminal, not the reverse).
 *  - The pipeline never imports an output or a front end; nothing imports cli/; src/ never imports test/.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

const CORE = ['util', 'capture', 'decode', 'reassembly', 'tls', 'smtp', 'model'] as const;
const OUTPUTS = new Set(['report', 'text', 'fleet']);

/** Each core layer's contract: what the layers above it may import. */
const CONTRACTS = new Set([
  'capture/types.ts',
  'decode/types.ts',
  'reassembly/types.ts',
  'reassembly/shard.ts',
  'tls/types.ts',
  'smtp/types.ts',
  'smtp/capabilities.ts',
  'model/types.ts',
]);
/** Knowledge tables and parsers a core layer publishes to the layers above (pure data and lookups). */
const KNOWLEDGE = new Set([
  'decode/address.ts',
  'tls/hello.ts',
  'tls/cipher-suites.ts',
  'smtp/reply-codes.ts',
  'smtp/enhanced-status.ts',
  'smtp/extensions.ts',
]);
/** The capture layer's adapters to the operating system: the only core files that may do I/O. */
const CAPTURE_ADAPTERS = new Set([
  'capture/open-file.ts',
  'capture/chunk-reader.ts',
  'capture/live-source.ts',
  'capture/cap-module.ts',
  'capture/devices.ts',
  'capture/privileges.ts',
  'capture/pcap-writer.ts',
  'capture/tcpdump-source.ts',
]);
/** The module specifiers a TypeScript file imports or re-exports, static or dynamic (comments ignored). */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*'([^']+)'/gm,
    /^\s*import\s*'([^']+)'/gm,
    /\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Why `file` (relative to src/) may not import `spec`, or null when it may. */
function violation(file: string, spec: string): string | null {
  const layer = file.includes('/') ? file.slice(0, file.indexOf('/')) : 'index';
  const coreRank = (CORE as readonly string[]).indexOf(layer);
  if (spec.startsWith('node:')) {
    if (coreRank < 0) return null;
    if (layer === 'tls' && spec === 'node:crypto') return null;
    if (CAPTURE_ADAPTERS.has(file)) return null;
    return `the pure core imports no node: module (${spec})`;
  }
  if (!spec.startsWith('.')) return null; // a package
  const target = relative(SRC, resolve(SRC, dirname(file), spec)).replace(/\.js$/, '.ts');
  if (target.startsWith('..')) return `src/ imports nothing outside src/ (${spec})`;
  const to = target.includes('/') ? target.slice(0, target.indexOf('/')) : 'index';
  if (to === layer) return null;
  if (to === 'cli' || to === 'index') return `nothing imports ${to === 'cli' ? 'cli/' : 'the entry point'}`;
  const toRank = (CORE as readonly string[]).indexOf(to);
  if (coreRank >= 0) {
    if (toRank < 0) return `the core imports nothing from ${to}/`;
    if (toRank > coreRank) return `${layer} is below ${to} and may not import it`;
    if (to !== 'util' && !CONTRACTS.has(target) && !KNOWLEDGE.has(target))
      return `${layer} imports ${to} only through its contract (${target} is not one)`;
    return null;
  }
  if (OUTPUTS.has(layer)) {
    if (to === 'pipeline' || to === 'dashboard') return `an output (${layer}/) never imports ${to}/`;
    if (layer === 'report' && to === 'text') return 'report/ never imports text/';
    return null;
  }
  if (layer === 'pipeline' && (OUTPUTS.has(to) || to === 'dashboard'))
    return `the pipeline never imports ${to}/`;
  return null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('layers', () => {
  const edges = sourceFiles(SRC).flatMap((path) => {
    const file = relative(SRC, path);
    return importSpecifiers(readFileSync(path, 'utf8')).map((spec) => ({ file, spec }));
  });

  it('reads the import lines of src/ (static, multi-line, type-only and dynamic)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ file: 'model/session-builder.ts', spec: '../reassembly/types.js' });
    expect(
      importSpecifiers("import {\n  a,\n  type B,\n} from './x.js';\nconst m = await import('./y.js');"),
    ).toEqual(['./x.js', './y.js']);
    expect(importSpecifiers("/** `import ... from 'smtpscope'` */\n// import z from './z.js';\n")).toEqual(
      [],
    );
  });

  it('finds the violations it is meant to', () => {
    expect(violation('model/session-builder.ts', '../reassembly/half-stream.js')).toMatch(/contract/);
    expect(violation('model/dsn.ts', 'node:fs')).toMatch(/node:/);
    expect(violation('tls/keys.ts', 'node:crypto')).toBeNull();
    expect(violation('decode/packet-decoder.ts', '../pipeline/analyzer.js')).toMatch(/core/);
    expect(violation('reassembly/assembler.ts', '../smtp/types.js')).toMatch(/below/);
    expect(violation('report/csv-sink.ts', '../pipeline/analyzer.js')).toMatch(/output/);
    expect(violation('report/bounce-report.ts', '../text/summary.js')).toMatch(/report/);
    expect(violation('pipeline/analyzer.ts', '../report/csv-sink.js')).toMatch(/pipeline/);
    expect(violation('text/summary.ts', '../report/columns.js')).toBeNull();
    expect(violation('dashboard/app.ts', '../cli/main.js')).toMatch(/cli/);
    expect(violation('fleet/spill.ts', '../../test/helpers/x.js')).toMatch(/outside/);
  });

  it('holds for every import in src/', () => {
    const broken = edges
      .map(({ file, spec }) => ({ file, spec, why: violation(file, spec) }))
      .filter((e) => e.why !== null)
      .map((e) => `${e.file}: ${e.spec}: ${e.why}`);
    expect(broken).toEqual([]);
  });
});
