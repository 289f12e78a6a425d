"""``python -m education.reassess``: reassess every household's 义务教育有保障 dimension.

The service does this itself every day (``EDUCATION_REASSESS_AT``, kit.schedule); run it by
hand after a change of the policy's ages, or to catch up at once. A child who turns 6, or
whose compulsory education ends with the term after their 16th birthday, changes the
dimension with no record changing; this publishes those changes. Safe beside the running service
(its outbox relay publishes what this commits) and idempotent: an unchanged household
publishes nothing.
"""

from __future__ import annotations

import asyncio
import sys

from education.config import EducationSettings
from education.households.service import EducationAssessor
from kit.clock import Clock
from kit.db import create_engine, create_sessionmaker


async def run(settings: EducationSettings) -> int:
    engine = create_engine(settings.database_url)
    try:
        assessor = EducationAssessor(Clock(settings.timezone))
        return await assessor.reassess_everyone(create_sessionmaker(engine))
    finally:
        await engine.dispose()


def main() -> int:
    households = asyncio.run(run(EducationSettings()))
    print(f"reassessed {households} households")
    return 0


if __name__ == "__main__":
    sys.exit(main())
