"""Every service's events the gateway projects, one ConsumerDefinition per producer.

Adding a producing service = adding its handlers (in ``gateway.projection``) and its
definition here, and naming the gateway as a consumer in the event catalogue.
"""

from __future__ import annotations

from gateway.projection.departments import EDUCATION, HOUSING
from gateway.projection.registry import REGISTRY

CONSUMERS = [REGISTRY, HOUSING, EDUCATION]
