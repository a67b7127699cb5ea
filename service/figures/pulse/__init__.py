"""The weekly Slack pulse: who is asked, their answers, and the weekly measurement made of them."""
