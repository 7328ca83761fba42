"""Leaf helpers every layer may use (Argo CD's glob dialects, repository URLs, durations, the
untrusted-code sandbox, the outbound-address guard); nothing here imports another reconciler package."""
