"""The benchmark's parts, one module per concern (standard library only):

- measure:  run one command; wall time, peak summed PSS of its process tree, CPU, other load
- checks:   is what came back the input (byte for byte, or the reads only)
- machine:  CPU, cores, load average, what else is running
- corpus:   the corpus and peers READMEs (md5, reference sizes, known inexact peer rows)
- listing:  `lstmzip list --json`
- peers:    how each compressor is run; fqxv's estimate (optional)
- runner:   one corpus file through every tool
- report:   the Markdown report
"""
