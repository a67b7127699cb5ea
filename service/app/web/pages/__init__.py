"""One module per page family; each is a thin route around core reads and the shared actions."""
