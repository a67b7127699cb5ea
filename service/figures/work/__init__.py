"""Work items (features, bugs, support tickets) from trackers, and when their changes shipped (issue 15)."""
