"""The Graph wire layer: request parsing, the presence resource's JSON, errors, and the HTTP routes."""
