"""A local emulator of Microsoft Graph's presence API and its change notifications, on a virtual clock."""

__version__ = "0.1.0"
