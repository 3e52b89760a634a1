import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { releaseOnClose } from '../../src/pipeline/release-on-close.js';
import type { FlowKey, FlowStats, StreamHandler } from '../../src/reassembly/types.js';

const FLOW = { id: 'C000001' } as FlowKey;
const STATS = {} as FlowStats;

function recorder(calls: string[]): StreamHandler {
  return {
    onData: (chunk) => void calls.push(`data ${chunk.direction} ${chunk.offset}`),
    onGap: (direction, offset, length) => void calls.push(`gap ${direction} ${offset} ${length}`),
    onClose: (reason) => void calls.push(`close ${reason}`),
  };
}

describe('release-on-close', () => {
  it('forwards every call until the close, and nothing after it', () => {
    const calls: string[] = [];
    const handler = releaseOnClose({ create: () => recorder(calls) }).create(FLOW, 0);
    expect(handler).not.toBeNull();
    const chunk = { direction: 'c2s' as const, offset: 0, tsMicros: 1, bytes: new Uint8Array([1]) };
    handler?.onData(chunk);
    handler?.onGap('s2c', 5, 3, 'lost', 2);
    handler?.onClose('fin', 3, STATS);
    handler?.onData({ ...chunk, offset: 1 });
    handler?.onGap('c2s', 9, 1, 'lost', 4);
    handler?.onClose('fin', 5, STATS);
    expect(calls).toEqual(['data c2s 0', 'gap s2c 5 3', 'close fin']);
  });

  it('passes on a factory that declines a connection', () => {
    expect(releaseOnClose({ create: () => null }).create(FLOW, 0)).toBeNull();
  });

  it('lets the closed handler be garbage collected while the wrapper is still held', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let ref: WeakRef<StreamHandler> | null = null;
    const wrapper = releaseOnClose({
      create: () => {
        const inner = recorder([]);
        ref = new WeakRef(inner);
        return inner;
      },
    }).create(FLOW, 0);
    wrapper?.onClose('fin', 1, STATS);
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(wrapper).not.toBeNull();
    expect((ref as WeakRef<StreamHandler> | null)?.deref()).toBeUndefined();
  });
});
