"""A seeded, realistic migration to show what Frictionlog reports (``frictionlog demo``)."""
