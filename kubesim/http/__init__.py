"""The HTTP face: the server and request handler, routes and query parameters, body decoding,
tables, discovery, OpenAPI documents, the request log and fault injection."""
