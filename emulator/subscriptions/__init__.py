"""Graph subscriptions to presence: their rules, their lifetime on the scheduler, and the fan-out of changes."""
