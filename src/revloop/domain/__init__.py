"""The pure core: no I/O, no clock, no random ids, no database or HTTP imports."""
