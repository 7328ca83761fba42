"""Leaf helpers every layer may use; nothing here imports another reconciler package."""
