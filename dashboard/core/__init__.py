"""What every layer may use: the clock, ids, signed ids, and the rules for text and words."""
