"""Event payload models, one module per producing service, and the assembled catalogue."""

from contracts.catalogue import Catalogue
from contracts.events import registry

CATALOGUE = Catalogue([*registry.EVENTS])
