"""Every history source's scopes share one shape (``integrations.history.scope``): the inbox source is the
source's name, the checkpoint key is ``target:kind``, and the config is the one given."""

from __future__ import annotations

from integrations.config import IntegrationConfig
from integrations.history.runner import Scope
from integrations.history.scope import VendorScope
from integrations.history.sources import SOURCES


def test_every_source_makes_its_scopes_on_the_one_base() -> None:
    config = IntegrationConfig()
    for name, spec in SOURCES.items():
        scopes: list[Scope] = spec.scopes(["acme/api"], config)
        assert scopes, name
        for scope in scopes:
            assert isinstance(scope, VendorScope), name
            assert scope.source == name
            target, _, kind = scope.key.rpartition(":")
            assert target.lower() == "acme/api", scope.key
            assert kind, scope.key
            assert scope.config is config
        assert len({scope.key for scope in scopes}) == len(scopes), name  # one checkpoint per scope
