"""Every service's events the gateway projects, one ConsumerDefinition per producer.

Adding a producing service = adding its handlers (in ``gateway.projection``) and its
definition here, and naming the gateway as a consumer in the event catalogue.
"""

from __future__ import annotations

import dataclasses

from gateway.projection.departments import EDUCATION, HEALTH, HOUSING
from gateway.projection.registry import REGISTRY
from gateway.projection.statistics import write_counters
from gateway.public_feed import publish_public

#: The projections: handlers gather their region counter changes; each transaction
#: writes them once. What a rebuild replays.
PROJECTIONS = [
    dataclasses.replace(definition, at_transaction_end=write_counters)
    for definition in (REGISTRY, HEALTH, HOUSING, EDUCATION)
]

#: The live consumers: the projections, and every event read republished to the public
#: feed (gateway.public_feed).
CONSUMERS = [
    dataclasses.replace(definition, on_received=publish_public) for definition in PROJECTIONS
]
