"""The control plane under ``/_emulator/``: everything that is not Graph."""
