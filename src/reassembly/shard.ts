/**
 * The sharding contract, apart from the reassembly core contract (types.ts) because sharding is an opt-in
 * outer layer: pipeline/sharded.ts splits the connections of one capture between several assemblers, each
 * created with an {@link AssemblerShard}; a plain assembler never sees these types.
 */

/**
 * Where a shard's assembler is in the capture, so that the events of several shards can be merged into the
 * order one assembler would have produced. `segment` counts every segment on the selected ports, this shard's
 * or not, so it is the same number in every shard; within one segment, connections close in phases: idle
 * expiry (`rank`: the segment of the connection's last activity, the open list's order), then connections
 * whose FIN wait ran out (`rank`: the segment that started the wait), then the segment's own connection; at
 * the end of the input, every open connection in order of last activity.
 */
export interface ShardPosition {
  segment: number;
  phase: number;
  rank: number;
}

export const SHARD_PHASE = { IDLE: 0, FIN_WAIT: 1, SEGMENT: 2, END: 3 } as const;

/**
 * One of `count` assemblers that split the connections of one capture between them by a symmetric hash of
 * the two endpoints (each sees every segment, and keeps only its own connections). Segments of the other
 * shards still advance the packet clock, so idle and linger expiry happen at the same segment as in a single
 * assembler. Connection ids are numbered per shard; `onStart` tells the caller of each start so that ids can
 * be renumbered in first-seen order across shards.
 */
export interface AssemblerShard {
  readonly count: number;
  readonly index: number;
  /** Written by the assembler before each connection starts or closes, and at each segment. */
  readonly at: ShardPosition;
  /** A connection of this shard started, with its shard-local id. */
  onStart(id: string): void;
}
