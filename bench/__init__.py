"""Benchmarks and robustness runs for the mocks: `python -m bench --help` lists them.

Everything here drives real processes over loopback (127.0.0.1 only); every run is bounded in
count and time and ends the processes it started by PID.
"""
