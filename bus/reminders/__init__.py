"""The reminder worker: it reacts to scheduling's events and sends what falls due."""
