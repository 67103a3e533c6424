"""Tables of the batches package."""
