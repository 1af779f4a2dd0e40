"""A seeded world for service tests: the demo agencies, officers and one citizen on Telegram."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from backend.db.models import Agency, ChannelIdentity, Officer
from backend.domain.workflow import Role
from backend.services import citizens
from backend.services.context import Actor, ServiceContext
from backend.services.officers import actor_of
from backend.services.seed import seed_demo

BIRTH_FORM: dict[str, Any] = {
    "declarant_name": "Nguyễn Văn An",
    "declarant_id_number": "072090001234",
    "declarant_residence": "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh",
    "declarant_relationship": "Cha",
    "declarant_phone": "0912345678",
    "child_name": "Nguyễn Ngọc Diệp",
    "child_sex": "Nữ",
    "child_birth_datetime": "2026-11-05T08:30",
    "child_birth_place": "Bệnh viện Đa khoa tỉnh Tây Ninh",
    "child_ethnicity": "Kinh",
    "child_nationality": "Việt Nam",
    "mother_name": "Trần Thị Bích",
    "mother_birth_year": 1994,
    "mother_residence": "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh",
    "parents_married": "Có",
    "father_name": "Nguyễn Văn An",
    "father_birth_year": 1990,
}


@dataclass
class World:
    ctx: ServiceContext
    commune: Agency
    officers: dict[str, Officer]
    identity: ChannelIdentity

    def actor(self, name: str) -> Actor:
        return actor_of(self.officers[f"hoathanh.{name}"])

    @property
    def citizen(self) -> Actor:
        return Actor(Role.CITIZEN, citizen_id=self.identity.citizen_id)  # type: ignore[attr-defined]

    async def photos(self, *components: str) -> list[int]:
        ids = []
        for i, comp in enumerate(components):
            att = await citizens.store_attachment(
                self.ctx,
                citizen_id=self.identity.citizen_id,  # type: ignore[attr-defined]
                data=f"photo {comp} {i} {len(ids)}".encode(),
                mime_type="image/jpeg",
                component=comp,
            )
            ids.append(att.id)
        return ids

    async def submit_birth(self, **form: Any):  # noqa: ANN201
        from backend.services import dossiers

        return await dossiers.submit(
            self.ctx,
            identity_id=self.identity.id,
            procedure_slug="birth_registration",
            agency_id=self.commune.id,
            form_data=BIRTH_FORM | form,
            attachment_ids=await self.photos("birth_certificate", "declarant_id"),
        )


@pytest.fixture
async def world(db: str, ctx: ServiceContext) -> World:
    seeded = await seed_demo(password="test-password")
    identity = await citizens.identify(ctx, "telegram", "5550001", "An Nguyễn")
    return World(ctx, seeded.agencies[0], seeded.officers, identity)
