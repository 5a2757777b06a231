"""lstmzip: lossless FASTQ compression with context models and a learned predictor.

The Python API (see README.md): lstmzip.open, lstmzip.open_pair, lstmzip.describe, lstmzip.train_model,
lstmzip.load_model, lstmzip.join, lstmzip.split, and the exceptions they raise. The API's names are imported on first use, so that importing the command line (or
`lstmzip --version`) loads neither numpy nor numba nor the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .errors import CorruptArchiveError, FastqError, LstmzipError, ModelFileError  # noqa: E402

if TYPE_CHECKING:
    from .api import (LstmzipReader, LstmzipWriter, Model, Pair, describe, join, load_model, open,  # noqa: F401
                      open_pair, split, train_model)

_API = ("open", "open_pair", "describe", "train_model", "load_model", "join", "split", "LstmzipReader", "LstmzipWriter",
        "Pair", "Model")
__all__ = [*_API, "LstmzipError", "FastqError", "CorruptArchiveError", "ModelFileError", "__version__"]


def __getattr__(name: str):
    if name in _API:
        from . import api

        value = globals()[name] = getattr(api, name)  # found directly from now on
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
