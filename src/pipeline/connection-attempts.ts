/**
 * Connection attempts: TCP connections on the SMTP ports that carried no payload byte in either direction. They
 * are not SMTP sessions (no session row, no session model): they are counted by fate, per server and per client
 * address, and written one record each only when asked (`--connection-attempts`).
 *
 * One case with no byte stays a session: the handshake completed and the server closed first (FIN or RST)
 * without a greeting. That is an SMTP failure a mail administrator needs to see, not a scan.
 *
 * Fates, from the connection's handshake flags and who closed first (FlowStats.firstClose):
 * - `unanswered`: the client's SYN got no answer (or only its retransmissions were seen);
 * - `refused`: the server answered the SYN with a RST (port closed, or a listener that refuses);
 * - `client-closed`: the handshake completed and the client closed (FIN or RST) before any byte (a connect scan,
 *   a TCP health check, a client that gave up);
 * - `silent`: the handshake completed and nothing more came before the idle timeout, the end of the capture or
 *   an eviction;
 * - `midstream`: no handshake seen and no byte (the end of a connection that began before the capture).
 *
 * Per-address counts are kept in bounded tables (Misra-Gries, {@link ADDRESS_SLOTS} addresses each): exact while
 * fewer distinct addresses than that were seen; past it, every address with more than total/(slots + 1)
 * attempts is still listed, its count a lower bound, and `approximate` says so.
 */

import {
  type AddressCount,
  ATTEMPT_FATES,
  type AttemptFate,
  type AttemptStats,
  NO_ATTEMPTS,
} from '../model/connection-attempt.js';
import { addressText } from '../reassembly/connection.js';
import type { Direction, FlowKey, FlowStats, UnopenedConnection } from '../reassembly/types.js';

/** Distinct addresses counted exactly per table (servers, clients); the tables' memory is bounded by it. */
export const ADDRESS_SLOTS = 1024;

/**
 * The fate of a closed connection that carried no payload, or null when it is a session: it carried bytes
 * (or lost some: a gap is bytes the capture missed), or the server closed first after completing the handshake.
 */
export function attemptFate(stats: FlowStats): AttemptFate | null {
  const c2s = stats.c2s;
  const s2c = stats.s2c;
  if (c2s.bytes !== 0 || s2c.bytes !== 0 || c2s.gaps !== 0 || s2c.gaps !== 0) return null;
  return handshakeFate(stats.sawSyn, stats.sawSynAck, stats.firstClose ?? null);
}

/**
 * The fate of a closed connection that carried no byte and lost none, from its handshake and who closed first
 * (null: no FIN or RST), or null when it is a session (the server closed first after the handshake).
 */
export function handshakeFate(
  sawSyn: boolean,
  sawSynAck: boolean,
  firstClose: Direction | null,
): AttemptFate | null {
  if (sawSynAck) {
    if (firstClose === 's2c') return null;
    return firstClose === 'c2s' ? 'client-closed' : 'silent';
  }
  if (!sawSyn) return 'midstream';
  return firstClose === 's2c' ? 'refused' : 'unanswered';
}

/**
 * How the address tables key an address: an IPv4 address as its int32 word (no string per address, so a flood
 * from many sources makes none), any other as its text. The text is made back only for the listing.
 */
type AddressKey = number | string;

/** The int32 word of canonical dotted-quad text (as the assembler formats IPv4 addresses), or null. */
function ipv4Word(text: string): number | null {
  let word = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || ++parts > 4) return null;
      word = (word << 8) | part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // No leading zero: the key must give back the same text.
      if (digits === 1 && part === 0) return null;
      part = part * 10 + (c - 0x30);
      digits++;
    } else return null;
  }
  return parts === 4 ? word : null;
}

function keyOfText(text: string): AddressKey {
  return ipv4Word(text) ?? text;
}

function textOfKey(key: AddressKey): string {
  return typeof key === 'number' ? addressText(4, key, 0, 0, 0) : key;
}

/** A bounded frequent-items table (Misra-Gries). */
class AddressTable {
  private readonly counts = new Map<AddressKey, number>();
  overflowed = false;

  constructor(private readonly slots: number) {}

  add(address: AddressKey, by = 1): void {
    const counts = this.counts;
    const n = counts.get(address);
    if (n !== undefined) {
      counts.set(address, n + by);
      return;
    }
    if (counts.size < this.slots) {
      counts.set(address, by);
      return;
    }
    // Full: take the smaller of `by` and the smallest count off every entry (the new one included), dropping
    // those that reach 0. Amortised O(1): what is taken off never exceeds what was added.
    this.overflowed = true;
    let least = by;
    for (const v of counts.values()) if (v < least) least = v;
    for (const [k, v] of counts) {
      if (v <= least) counts.delete(k);
      else counts.set(k, v - least);
    }
    if (by > least) counts.set(address, by - least);
  }

  top(n: number): AddressCount[] {
    return [...this.counts]
      .map(([key, count]) => ({ address: textOfKey(key), count }))
      .sort((a, b) => b.count - a.count || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
      .slice(0, n);
  }
}

/** The address key of an unopened connection's client or server. */
function unopenedKey(connection: UnopenedConnection, client: boolean): AddressKey {
  if (client) {
    if (connection.ipVersion === 4) return connection.clientWord(0);
    const c = connection;
    return addressText(6, c.clientWord(0), c.clientWord(1), c.clientWord(2), c.clientWord(3));
  }
  if (connection.ipVersion === 4) return connection.serverWord(0);
  const c = connection;
  return addressText(6, c.serverWord(0), c.serverWord(1), c.serverWord(2), c.serverWord(3));
}

export interface AttemptCounter {
  add(flow: FlowKey, fate: AttemptFate): void;
  /** The same for an attempt closed in the assembler's SYN table: no address text is made for IPv4. */
  addUnopened(connection: UnopenedConnection, fate: AttemptFate): void;
  stats(): AttemptStats;
}

export function createAttemptCounter(slots = ADDRESS_SLOTS): AttemptCounter {
  const byFate: Record<AttemptFate, number> = {
    unanswered: 0,
    refused: 0,
    'client-closed': 0,
    silent: 0,
    midstream: 0,
  };
  let total = 0;
  const servers = new AddressTable(slots);
  const clients = new AddressTable(slots);
  return {
    add(flow, fate) {
      total++;
      byFate[fate]++;
      servers.add(keyOfText(flow.server.ip));
      clients.add(keyOfText(flow.client.ip));
    },
    addUnopened(connection, fate) {
      total++;
      byFate[fate]++;
      servers.add(unopenedKey(connection, false));
      clients.add(unopenedKey(connection, true));
    },
    stats() {
      return {
        total,
        byFate: { ...byFate },
        servers: servers.top(slots),
        clients: clients.top(slots),
        approximate: servers.overflowed || clients.overflowed,
      };
    },
  };
}

/**
 * Several runs' attempt statistics as one (files on workers, shards): exact when no run's tables overflowed and
 * the merged tables hold every address.
 */
export function mergeAttemptStats(all: readonly AttemptStats[]): AttemptStats {
  if (all.length === 1 && all[0] !== undefined) return all[0];
  const byFate = { ...NO_ATTEMPTS.byFate };
  let total = 0;
  let approximate = false;
  const servers = new AddressTable(ADDRESS_SLOTS);
  const clients = new AddressTable(ADDRESS_SLOTS);
  for (const s of all) {
    total += s.total;
    for (const fate of ATTEMPT_FATES) byFate[fate] += s.byFate[fate];
    for (const a of s.servers) servers.add(keyOfText(a.address), a.count);
    for (const a of s.clients) clients.add(keyOfText(a.address), a.count);
    approximate ||= s.approximate;
  }
  return {
    total,
    byFate,
    servers: servers.top(ADDRESS_SLOTS),
    clients: clients.top(ADDRESS_SLOTS),
    approximate: approximate || servers.overflowed || clients.overflowed,
  };
}
