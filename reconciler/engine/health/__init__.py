"""Health of live objects: `assess(obj)` (assess.py) consults Lua customizations, then the
built-in rule of the kind (rules/, one module per kind), then the common status conventions."""
