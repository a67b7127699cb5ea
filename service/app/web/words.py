"""The web app's name for ``service.core.words`` (the one plural helper, in the core so the digest and Slack use
it too); templates reach it as the ``plural`` filter and global."""

from __future__ import annotations

from service.core.words import IRREGULAR, noun, plural

__all__ = ["IRREGULAR", "noun", "plural"]
