"""The core every layer stands on: settings, the database and its tables, time and weeks, the vocabulary,
canonical records, identity. It imports nothing else of the project."""
