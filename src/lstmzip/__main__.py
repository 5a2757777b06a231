"""The entry point of `lstmzip` and `python -m lstmzip`, and what a stop signal does.

Ctrl-C or SIGTERM, whenever it comes, ends lstmzip at once: its worker processes are killed, its
unfinished outputs removed, and it exits 130 (143 for SIGTERM) after one line on stderr. Ending in the
handler rather than by an exception unwinding the program makes this hold wherever the signal lands:
Python drops exceptions raised in at-fork hooks, import callbacks and finalizers (the run then went on),
prints a traceback for one raised while a module is imported, and a signal during interpreter shutdown
kills the process by its default action.
"""

import os
import signal
import sys


def _stop(signum, frame):
    # only what is loaded (as far as it is: the signal may land in its import) can have started anything
    for module, name in (("lstmzip.workers", "kill_all"), ("lstmzip.files", "remove_unfinished")):
        cleanup = getattr(sys.modules.get(module), name, None)
        if cleanup is not None:
            try:
                cleanup()
            except Exception:  # whatever happens, stop
                pass
    os.write(2, b"lstmzip: interrupted\n")
    os._exit(130 if signum == signal.SIGINT else 143)


def run() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    from .cli import main

    main(prog_name="lstmzip")


if __name__ == "__main__":
    run()
