"""Benchmarks: ``python -m bench NAME [args]``; ``python -m bench`` runs them all."""
