"""What the emulator does to requests before and after the Graph handlers see them: throttling, injected
faults, and the journal that records every request with its response."""
