"""What a change notification carries on the wire: its items, its encryption and its validation tokens."""
