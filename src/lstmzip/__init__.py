"""lstmzip: lossless FASTQ compression with context models and a learned predictor.

The Python API (see README.md): lstmzip.open, lstmzip.open_pair, lstmzip.describe, and the exceptions
they raise.
"""

__version__ = "0.1.0"

from .api import LstmzipReader, LstmzipWriter, Pair, describe, open, open_pair  # noqa: E402
from .errors import CorruptArchiveError, FastqError, LstmzipError  # noqa: E402

__all__ = ["open", "open_pair", "describe", "LstmzipReader", "LstmzipWriter", "Pair", "LstmzipError",
           "FastqError", "CorruptArchiveError", "__version__"]
