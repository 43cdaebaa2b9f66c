"""The OpenAPI 3.1 document of the emulator's whole surface, served at ``/_emulator/openapi.json``."""
