"""Committed generated files equal what the code generates (`make generate` refreshes them)."""

from __future__ import annotations

import pytest
import yaml

from devstack import nats_config, service_lists
from devstack.generate import (
    errors_document,
    events_document,
    openapi_documents,
    readme_with_catalogue,
)
from devstack.project import load_services, repo_root

ROOT = repo_root()


@pytest.mark.parametrize("service", [s.name for s in load_services()])
def test_openapi_spec_is_current(service):
    expected = openapi_documents()[f"openapi/{service}.json"]
    committed = (ROOT / "openapi" / f"{service}.json").read_text(encoding="utf-8")
    assert committed == expected, f"openapi/{service}.json is stale: run `make generate`"


def test_event_catalogue_is_current():
    assert (ROOT / "openapi" / "events.md").read_text(encoding="utf-8") == events_document()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_catalogue(readme), (
        "README event catalogue is stale: run `make generate`"
    )


def test_problem_catalogue_is_current():
    committed = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert committed == errors_document(), "docs/errors.md is stale: run `make generate`"


@pytest.mark.parametrize("relative", sorted(nats_config.generated_files()))
def test_nats_users_are_current(relative):
    """The compose and Kubernetes NATS users follow the catalogue's producers."""
    committed = (ROOT / relative).read_text(encoding="utf-8")
    assert committed == nats_config.generated_files()[relative], (
        f"{relative} is stale: run `make generate`"
    )


@pytest.mark.parametrize("relative", sorted(service_lists.generated_files()))
def test_service_lists_are_current(relative):
    """pyproject.toml, compose and Kubernetes list every service of services/services.toml."""
    committed = (ROOT / relative).read_text(encoding="utf-8")
    assert committed == service_lists.generated_files()[relative], (
        f"{relative} is stale: run `make generate`"
    )


def test_no_stray_service_manifest():
    """A service removed from services.toml leaves no manifest behind."""
    base = ROOT / "deploy" / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))
    patches = {patch["path"] for patch in kustomization.get("patches") or []}
    manifests = {
        f"services/{path.name}" for path in (ROOT / service_lists.K8S_SERVICES).glob("*.yaml")
    }
    assert manifests - patches == {f"services/{s.name}.yaml" for s in load_services()}


def test_lock_lists_every_workspace_member():
    assert service_lists.stale_lock() == [], "uv.lock is stale: run `make lock`"
