"""CustomResourceDefinitions: their rules, structural schemas and lifecycle (names accepted, Established)."""
