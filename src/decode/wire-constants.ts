/** Protocol numbers read by the decoder (values from the IEEE and IANA registries). */

export const ETHERTYPE = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  /** 802.1Q customer VLAN tag. */
  VLAN: 0x8100,
  /** 802.1ad service VLAN tag (provider bridging). */
  QINQ: 0x88a8,
  /** Pre-standard QinQ tag used by some switches. */
  QINQ_OLD: 0x9100,
  /** Values below this in the EtherType position are 802.3 lengths (an LLC header follows). */
  MIN_ETHERTYPE: 0x0600,
} as const;

export const IP_PROTO = {
  HOP_BY_HOP: 0,
  IPV4_IN_IP: 4,
  TCP: 6,
  IPV6_IN_IP: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

/** BSD address-family values found in DLT_NULL / DLT_LOOP headers. */
export const BSD_AF = {
  INET: 2,
  /** AF_INET6 on NetBSD, OpenBSD and BSD/OS. */
  INET6_BSD: 24,
  /** AF_INET6 on FreeBSD and DragonFly. */
  INET6_FREEBSD: 28,
  /** AF_INET6 on macOS (Darwin). */
  INET6_DARWIN: 30,
} as const;
