"""Webhook delivery: per-URL queues, the validation handshake, retries on the emulated clock, the delivery log."""
