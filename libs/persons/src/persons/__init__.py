"""The registry's persons as another service keeps them (a read model, ARCHITECTURE §2.1).

Health, and the services after it, need who lives in which household and the household's
poverty facts. Each keeps its own copy in its own database, learnt from the registry's
household and member events (never from the registry's database):

- :class:`RegistryPerson`: the columns; a service's ``Person`` table is its own base plus
  these (``class Person(HealthModel, RegistryPerson, table=True)``), so its other tables
  can reference ``persons.id``;
- :class:`Persons`: that table kept from the events (:meth:`Persons.registry_consumer`) and
  read in the caller's region (:meth:`Persons.named`, :meth:`Persons.of_household`);
- ``persons.migration.create_persons_table``: the migration step that creates the table for
  a new service (imported by migrations only: it brings Alembic, which a running service
  does not need).
"""

from persons.model import PERSONS_TABLE, RegistryPerson
from persons.read_model import Persons, PersonsChanged, event_refs, of_person

__all__ = [
    "PERSONS_TABLE",
    "Persons",
    "PersonsChanged",
    "RegistryPerson",
    "event_refs",
    "of_person",
]
