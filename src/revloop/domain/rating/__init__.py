"""Rating: turning one kind of source record into priced line drafts (one module per concern)."""
