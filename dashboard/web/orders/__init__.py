"""The merchant's orders: who buys what, and the payment link that settles each order."""
