"""Each bounded context's declaration (`CONTEXT`): what the wiring needs to know about it.
The registry lists them; nothing else in the entry layer names a context."""
