import os

# The emulator's models use no pydantic plugins, and looking plugins up reads every installed distribution's
# entry points (15-20 ms of each cold start of `serve` in a full virtualenv). An explicit setting still wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from emulator.cli import main  # (after the setting above: pydantic reads it at the first model)

raise SystemExit(main())
