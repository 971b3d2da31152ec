"""Benchmarking: latency statistics as trtexec defines them, machine description, reports."""
