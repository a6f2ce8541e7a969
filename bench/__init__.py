"""The benchmark: synthetic programmes, a floor server, and `python -m bench.run`."""
