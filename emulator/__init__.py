"""A local emulator of Microsoft Graph's presence API and its change notifications, on a virtual clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Emulator", "EmulatorThread", "__version__"]

if TYPE_CHECKING:
    from emulator.embedded import Emulator, EmulatorThread


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `import emulator` (the CLI, the pytest plugin) stays cheap.
    if name in ("Emulator", "EmulatorThread"):
        from emulator import embedded

        return getattr(embedded, name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
