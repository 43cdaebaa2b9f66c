import gc

# Starting makes some 100,000 objects that live as long as the process: the collector, run every few hundred
# of them, frees none and costs a tenth of the start. `serve` turns it back on once it listens (cli.serve).
gc.disable()

from emulator.cli import main  # noqa: E402

raise SystemExit(main())
