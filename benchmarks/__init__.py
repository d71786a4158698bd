"""The benchmark suite (`make bench`, `python benchmarks/run_all.py --help`); not installed."""
