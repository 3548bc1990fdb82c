#!/usr/bin/env python3
"""bench/cputime.py CMD [ARG...] - run CMD (its stdout to /dev/null) and print
its wall time and CPU time (user + system) in seconds on one line: what
`/usr/bin/time -f '%e %U %S'` gives, without its 10 ms steps (wait4's
rusage of CMD, to the microsecond).  Not its peak RSS: CMD starts as a
vfork of this Python, whose pages would count in it (use /usr/bin/time's
%M for that).  Exits with CMD's status."""
import os, shutil, sys, time

if len(sys.argv) < 2:
    sys.exit(__doc__)
path = shutil.which(sys.argv[1]) or sys.argv[1]
null = os.open(os.devnull, os.O_WRONLY)
t0 = time.monotonic()
pid = os.posix_spawn(path, sys.argv[1:], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
_, status, r = os.wait4(pid, 0)
wall = time.monotonic() - t0
print("%.4f %.4f" % (wall, r.ru_utime + r.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status))
