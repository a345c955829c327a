"""The benchmarks: each a script (``.venv/bin/python bench/<name>.py``); a package only so that
mypy and ``bench.soak`` name each module once."""
