"""Benchmarks of chainrule against PyTorch, HIPS autograd, JAX and plain NumPy.

Run ``python -m bench --help``; the results and their history are in BENCHMARKS.md.
"""
