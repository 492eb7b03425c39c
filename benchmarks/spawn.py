"""Run one command; write its wall seconds, peak RSS and exit status as JSON to a file.

Why a launcher: on Linux a child's ``ru_maxrss`` starts from the memory of the process it
was spawned from (exec records the old address space's high-water mark), so a child of
the benchmark, which has SQLAlchemy loaded, would report at least the benchmark's own
size. Spawned from this small interpreter (started with ``-I -S``, about 9 MB), a
child's figure is its own; the floor is this launcher's size. The clock runs from spawn
to exit only, so the launcher's own start-up is not counted.

    python -I -S benchmarks/spawn.py RESULT.json COMMAND [ARG ...]
"""

import json
import os
import sys
import time

result, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(result, "w") as fh:
    json.dump({"seconds": seconds, "peak_kb": usage.ru_maxrss, "returncode": os.waitstatus_to_exitcode(status)}, fh)
