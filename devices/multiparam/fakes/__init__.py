"""Fake monitors that speak the real protocols, sans-I/O, for tests and demos.

`feed(data, now_s)` takes the host's bytes, `poll(now_s)` returns the monitor's. They
are built from the interface documents, not from Vigil's host code, and keep a log of
what they sent so tests compare the host's output with the monitor's truth.
"""
