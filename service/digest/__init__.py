"""The weekly migration digest: what changed, for whom, and whether it is real."""
