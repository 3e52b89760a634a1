/**
 * Link-layer decoding: finds the IP header behind Ethernet (with stacked VLAN tags), Linux cooked capture v1
 * and v2, BSD loopback (NULL and LOOP) and raw-IP link types.
 */

import { LINKTYPE } from '../capture/types.js';
import { CODE, CONTINUE } from './outcome-codes.js';
import { BSD_AF, ETHERTYPE } from './wire-constants.js';

/** Most VLAN tags followed before giving up on a frame (counted as `not-ip`); real stacks have 1 or 2. */
export const MAX_VLAN_TAGS = 8;

/** Where the network layer starts; filled in place by {@link decodeLinkLayer}. */
export interface LinkLayerResult {
  networkOffset: number;
  ipVersion: 4 | 6;
}

export function createLinkLayerResult(): LinkLayerResult {
  return { networkOffset: 0, ipVersion: 4 };
}

const ETHERNET_HEADER_BYTES = 14;
const SLL_HEADER_BYTES = 16;
const SLL2_HEADER_BYTES = 20;
const BSD_LOOPBACK_HEADER_BYTES = 4;
const VLAN_TAG_BYTES = 4;
/** ARPHRD_NETLINK: Linux cooked captures of netlink sockets carry no IP. */
const ARPHRD_NETLINK = 824;

/** Follows VLAN tags from `offset` (where a tag's TCI starts) and dispatches on the final EtherType. */
function afterEthertype(
  buffer: Uint8Array,
  offset: number,
  end: number,
  ethertype: number,
  out: LinkLayerResult,
): number {
  let tags = 0;
  while (ethertype === ETHERTYPE.VLAN || ethertype === ETHERTYPE.QINQ || ethertype === ETHERTYPE.QINQ_OLD) {
    if (++tags > MAX_VLAN_TAGS) return CODE.NOT_IP;
    if (end - offset < VLAN_TAG_BYTES) return CODE.VLAN_TRUNCATED;
    ethertype = (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
    offset += VLAN_TAG_BYTES;
  }
  out.networkOffset = offset;
  if (ethertype === ETHERTYPE.IPV4) {
    out.ipVersion = 4;
    return CONTINUE;
  }
  if (ethertype === ETHERTYPE.IPV6) {
    out.ipVersion = 6;
    return CONTINUE;
  }
  return CODE.NOT_IP;
}

function fromAddressFamily(family: number, offset: number, out: LinkLayerResult): number {
  out.networkOffset = offset;
  if (family === BSD_AF.INET) {
    out.ipVersion = 4;
    return CONTINUE;
  }
  if (family === BSD_AF.INET6_BSD || family === BSD_AF.INET6_FREEBSD || family === BSD_AF.INET6_DARWIN) {
    out.ipVersion = 6;
    return CONTINUE;
  }
  return CODE.NOT_IP;
}

function fromVersionNibble(buffer: Uint8Array, start: number, end: number, out: LinkLayerResult): number {
  if (end <= start) return CODE.LINK_TRUNCATED;
  out.networkOffset = start;
  const version = buffer[start]! >> 4;
  if (version === 4) {
    out.ipVersion = 4;
    return CONTINUE;
  }
  if (version === 6) {
    out.ipVersion = 6;
    return CONTINUE;
  }
  return CODE.NOT_IP;
}

/**
 * Decodes the link header of the packet `buffer[start, end)` of link type `linkType` (a LINKTYPE_* value).
 * Returns CONTINUE with `out` filled when an IPv4 or IPv6 header follows, otherwise an outcome code:
 * `unsupported-link`, `not-ip` (other EtherTypes, 802.3/LLC frames, other address families, more than
 * {@link MAX_VLAN_TAGS} tags), `link-truncated` or `vlan-truncated`.
 *
 * BSD NULL headers hold the address family in the capturing host's byte order, so both orders are accepted
 * (the family is a small number: whichever end holds the non-zero bytes is the low end). LOOP is always
 * network order.
 */
export function decodeLinkLayer(
  buffer: Uint8Array,
  start: number,
  end: number,
  linkType: number,
  out: LinkLayerResult,
): number {
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (end - start < ETHERNET_HEADER_BYTES) return CODE.LINK_TRUNCATED;
      const ethertype = (buffer[start + 12]! << 8) | buffer[start + 13]!;
      if (ethertype < ETHERTYPE.MIN_ETHERTYPE) return CODE.NOT_IP;
      return afterEthertype(buffer, start + ETHERNET_HEADER_BYTES, end, ethertype, out);
    }
    case LINKTYPE.LINUX_SLL: {
      if (end - start < SLL_HEADER_BYTES) return CODE.LINK_TRUNCATED;
      if (((buffer[start + 2]! << 8) | buffer[start + 3]!) === ARPHRD_NETLINK) return CODE.NOT_IP;
      const protocol = (buffer[start + 14]! << 8) | buffer[start + 15]!;
      return afterEthertype(buffer, start + SLL_HEADER_BYTES, end, protocol, out);
    }
    case LINKTYPE.LINUX_SLL2: {
      if (end - start < SLL2_HEADER_BYTES) return CODE.LINK_TRUNCATED;
      if (((buffer[start + 8]! << 8) | buffer[start + 9]!) === ARPHRD_NETLINK) return CODE.NOT_IP;
      const protocol = (buffer[start]! << 8) | buffer[start + 1]!;
      return afterEthertype(buffer, start + SLL2_HEADER_BYTES, end, protocol, out);
    }
    case LINKTYPE.NULL: {
      if (end - start < BSD_LOOPBACK_HEADER_BYTES) return CODE.LINK_TRUNCATED;
      const b0 = buffer[start]!;
      const b1 = buffer[start + 1]!;
      const b2 = buffer[start + 2]!;
      const b3 = buffer[start + 3]!;
      let family: number;
      if ((b0 | b1) !== 0) family = (b2 | b3) === 0 ? b0 | (b1 << 8) : -1;
      else family = (b2 << 8) | b3;
      return fromAddressFamily(family, start + BSD_LOOPBACK_HEADER_BYTES, out);
    }
    case LINKTYPE.LOOP: {
      if (end - start < BSD_LOOPBACK_HEADER_BYTES) return CODE.LINK_TRUNCATED;
      if ((buffer[start]! | buffer[start + 1]!) !== 0) return CODE.NOT_IP;
      const family = (buffer[start + 2]! << 8) | buffer[start + 3]!;
      return fromAddressFamily(family, start + BSD_LOOPBACK_HEADER_BYTES, out);
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_12:
    case LINKTYPE.RAW_14:
      return fromVersionNibble(buffer, start, end, out);
    case LINKTYPE.IPV4:
      out.networkOffset = start;
      out.ipVersion = 4;
      return CONTINUE;
    case LINKTYPE.IPV6:
      out.networkOffset = start;
      out.ipVersion = 6;
      return CONTINUE;
    default:
      return CODE.UNSUPPORTED_LINK;
  }
}
