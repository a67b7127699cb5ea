"""The outer layer: the HTTP API, the web app and the command line, and the demo they drive."""
