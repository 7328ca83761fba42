"""What an object may hold: the built-in catalogue and OpenAPI shapes, validation, defaults,
field validation, merge markers, field paths and CEL rules."""
