#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/workloads/bytearray.py: allocate N MiB once in Python (a bytearray),
touch every page, print one JSON line, then hold still: the issue's example of
a process whose growth must age to zero once it is quiet."""
import json
import os
import signal
import sys
import time


def main():
    if len(sys.argv) not in (2, 3):
        print("Usage: bytearray.py MIB [HOLD_SEC]", file=sys.stderr)
        return 2
    mib = int(sys.argv[1])
    hold = float(sys.argv[2]) if len(sys.argv) == 3 else -1
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    b = bytearray(mib << 20)
    for i in range(0, len(b), 4096):
        b[i] = 1
    print(json.dumps({"event": "allocated", "bytes": len(b),
                      "t_usec": time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000,
                      "t_mono_usec": time.monotonic_ns() // 1000, "pid": os.getpid()}),
          flush=True)
    t0 = time.monotonic()
    while hold < 0 or time.monotonic() - t0 < hold:
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
