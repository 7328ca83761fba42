"""Writes: create/update/patch/apply (server-side apply with managed fields), delete with
finalizers and garbage collection, the scale subresource."""
