"""The web app: server-rendered pages for leaders and platform leads, a reader at the top layer beside the
API. Its actions call the same domain functions as the API and the Slack buttons."""
