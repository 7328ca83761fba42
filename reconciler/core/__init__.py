"""Leaf helpers every layer may use (Argo CD's glob dialects, ...); imports nothing of the reconciler."""
