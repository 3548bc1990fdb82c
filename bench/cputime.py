#!/usr/bin/env python3
"""bench/cputime.py CMD [ARG...] - run CMD (its stdout to /dev/null) and print
its wall time and CPU time (user + system) in seconds, and its peak RSS in
KiB, on one line: what `/usr/bin/time -f '%e %U %S %M'` gives, without its
10 ms steps (the CPU time is getrusage's, to the microsecond, which the
kernel sums from the tasks' run time).  Exits with CMD's status."""
import resource, subprocess, sys, time

if len(sys.argv) < 2:
    sys.exit(__doc__)
t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.4f %.4f %d" % (wall, r.ru_utime + r.ru_stime, r.ru_maxrss))
sys.exit(p.returncode)
