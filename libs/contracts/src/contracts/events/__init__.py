"""Event payload models, one module per producing service, and the assembled catalogue."""

from contracts.catalogue import Catalogue
from contracts.events import education, health, housing, low_income, registry

CATALOGUE = Catalogue(
    [*registry.EVENTS, *health.EVENTS, *housing.EVENTS, *education.EVENTS, *low_income.EVENTS]
)
