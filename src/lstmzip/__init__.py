"""lstmzip: lossless FASTQ compression with context models and a learned predictor."""

__version__ = "0.1.0"
