/**
 * Collects what a capture parser emits as plain comparable values, so tests can compare runs (split tests)
 * and check fields one by one.
 */

import type { PacketView, SourceWarning } from '../../src/capture/types.js';

export interface LoggedPacket {
  readonly index: number;
  readonly tsMicros: number;
  readonly capturedLength: number;
  readonly originalLength: number;
  readonly linkType: number;
  readonly interfaceId: number;
  readonly hex: string;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function logPacket(packet: PacketView): LoggedPacket {
  return {
    index: packet.index,
    tsMicros: packet.tsMicros,
    capturedLength: packet.capturedLength,
    originalLength: packet.originalLength,
    linkType: packet.linkType,
    interfaceId: packet.interfaceId,
    hex: toHex(packet.buffer.subarray(packet.offset, packet.offset + packet.capturedLength)),
  };
}

export interface ParseLog {
  packets: LoggedPacket[];
  warnings: SourceWarning[];
}

export function createLog(): ParseLog & {
  onPacket: (packet: PacketView) => void;
  onWarning: (warning: SourceWarning) => void;
} {
  const packets: LoggedPacket[] = [];
  const warnings: SourceWarning[] = [];
  return {
    packets,
    warnings,
    onPacket: (packet) => {
      packets.push(logPacket(packet));
    },
    onWarning: (warning) => {
      warnings.push(warning);
    },
  };
}
