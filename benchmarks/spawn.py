"""Run one command; write its wall and CPU seconds, peak RSS and exit status as JSON to a file.

Why a launcher: on Linux a child's ``ru_maxrss`` starts from the memory of the process it
was spawned from (exec records the old address space's high-water mark), so a child of
the benchmark, which has SQLAlchemy loaded, would report at least the benchmark's own
size. Spawned from this small interpreter (started with ``-I -S``, about 9 MB), a
child's figure is its own; the floor is this launcher's size. The clock runs from spawn
to exit only, so the launcher's own start-up is not counted. CPU seconds (user + system)
are the child's own: on a machine shared with other work they vary far less than wall time.

    python -I -S benchmarks/spawn.py RESULT.json COMMAND [ARG ...]
"""

import json
import os
import signal
import sys
import time

result, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
# A benchmark that is stopped stops its step too (the step then finishes its own cleanup).
signal.signal(signal.SIGTERM, lambda _signum, _frame: os.kill(pid, signal.SIGTERM))
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(result, "w") as fh:
    json.dump(
        {
            "seconds": seconds,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_kb": usage.ru_maxrss,
            "returncode": os.waitstatus_to_exitcode(status),
        },
        fh,
    )
