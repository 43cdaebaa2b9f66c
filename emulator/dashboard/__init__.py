"""The dashboard: a live page, served by the emulator itself, to watch and drive presence."""
