"""Objects at rest: the versioned store, label and field selectors, LIST reads and WATCH streams."""
