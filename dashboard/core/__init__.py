"""What every layer may use: the clock, ids, signed ids, public addresses, text and words."""
