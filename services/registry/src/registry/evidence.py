"""佐证材料: the documents every step of a household's file must point to (DOMAIN §2.1).

Files themselves live in the county's document store; the registry keeps their name,
content hash and location, so a record can be checked against its evidence later."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Document(BaseModel):
    """One piece of evidence (申请书, 调查表, 会议记录, 公示照片 …)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = (
        Field(description="What the document is, e.g. 贫困户申请书", examples=["贫困户申请书"])
    )
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the file, 64 lowercase hex digits"
    )
    location: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
    ] = Field(description="Where the file is kept: a URL or an archive reference")


Evidence = Annotated[
    list[Document],
    Field(min_length=1, max_length=50, description="佐证材料: at least one document"),
]
