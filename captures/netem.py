#!/usr/bin/env python3
"""A lossy point-to-point IP link between two network namespaces, made of two TUN devices.

make-captures.sh uses this where the kernel has no `tc netem` (for example under gVisor). Run it inside
the first namespace; it opens TUN device `tun-a` there, switches to the second namespace, opens `tun-b`
there, prints "ready" and then forwards every IP packet from one device to the other, dropping a share of
them, delaying the rest and letting some overtake the delayed ones (the same model as netem's
`delay D reorder R% loss L%`). The caller assigns addresses and routes. SIGUSR1 turns the link into a
clean one (no loss, no reordering, 1 ms delay). Stops on SIGTERM.

usage: netem.py NS_B --delay-ms 10 --loss 0.03 --reorder 0.25 --seed 1
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ns_b")
    parser.add_argument("--delay-ms", type=float, default=10.0)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--reorder", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    fd_a = open_tun("tun-a")
    libc = ctypes.CDLL(None, use_errno=True)
    ns_fd = os.open(f"/run/netns/{args.ns_b}", os.O_RDONLY)
    if libc.setns(ns_fd, CLONE_NEWNET) != 0:
        sys.exit(f"setns failed: errno {ctypes.get_errno()}")
    fd_b = open_tun("tun-b")
    peer = {fd_a: fd_b, fd_b: fd_a}

    running = True

    def stop(_signum, _frame):
        nonlocal running
        running = False

    def clean(_signum, _frame):
        args.loss = 0.0
        args.reorder = 0.0
        args.delay_ms = 1.0

    signal.signal(signal.SIGUSR1, clean)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)

    queue = []  # (due time, sequence number, output fd, packet)
    seq = 0
    stats = {"forwarded": 0, "dropped": 0, "reordered": 0, "undeliverable": 0}
    while running:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, packet = heapq.heappop(queue)
            try:
                os.write(out, packet)
                stats["forwarded"] += 1
            except OSError:
                # The other device is not up yet (EIO): the packet is lost, as on a real link.
                stats["undeliverable"] += 1
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        except InterruptedError:
            continue
        for fd in readable:
            packet = os.read(fd, 65535)
            if rng.random() < args.loss:
                stats["dropped"] += 1
                continue
            seq += 1
            if rng.random() < args.reorder:
                due = time.monotonic()
                stats["reordered"] += 1
            else:
                due = time.monotonic() + args.delay_ms / 1000.0
            heapq.heappush(queue, (due, seq, peer[fd], packet))
    print(f"netem: {stats}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
