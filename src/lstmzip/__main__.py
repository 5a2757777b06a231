"""The entry point of `lstmzip` and `python -m lstmzip`.

Until the command line is parsed and lstmzip's own handlers are in place, Ctrl-C or SIGTERM ends the
start-up quietly, with the exit status of an interrupted run, instead of a traceback from whatever
module was being imported.
"""

import os
import signal
import sys


def _end_start_up(signum, frame):
    sys.stderr.write("lstmzip: interrupted\n")
    os._exit(130 if signum == signal.SIGINT else 143)  # nothing was opened for writing yet


def run() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _end_start_up)
    from .cli import main

    main(prog_name="lstmzip")


if __name__ == "__main__":
    run()
