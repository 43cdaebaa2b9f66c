"""The presence domain: users, sessions, aggregation and timed fades, free of any HTTP."""
