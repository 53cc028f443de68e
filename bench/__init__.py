"""`make bench`: the upload path, memory, concurrency, login cost, page weight and offline opening, measured.

Not part of `make test`. Every comparison is a ratio of figures taken in the
same run on the same file, because the machines are shared and noisy; the
runner (`python -m bench`) writes bench/results.json and bench/RESULTS.md.
"""
