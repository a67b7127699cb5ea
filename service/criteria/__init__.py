"""Success criteria a migration is judged on, set before the move, and every change made to them after it."""
