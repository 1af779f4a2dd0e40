"""Demo data: two agencies of the new Tây Ninh province, their departments and officers."""

from __future__ import annotations

from dataclasses import dataclass

from backend.db.models import Agency, Department, Officer
from backend.domain.workflow import Role
from backend.services.officers import create_officer, hash_password

DEMO_PASSWORD = "motcua-demo"  # demo accounts must change it at first login

AGENCIES = [
    {
        "code": "000.31.57.H57",
        "name": "UBND phường Hòa Thành",
        "parent_name": "UBND TỈNH TÂY NINH",
        "level": "commune",
        "departments": [("civil_status", "Tư pháp - Hộ tịch"), ("economy", "Kinh tế")],
        "prefix": "hoathanh",
    },
    {
        "code": "000.00.00.H57",
        "name": "Trung tâm Phục vụ hành chính công tỉnh Tây Ninh",
        "parent_name": "UBND TỈNH TÂY NINH",
        "level": "province",
        "departments": [("tax", "Thuế cơ sở"), ("judicial_records", "Phòng Lý lịch tư pháp")],
        "prefix": "tinh",
    },
]

STAFF = [  # (username suffix, role, full name, department index or None)
    ("motcua", Role.ONE_STOP, "Trần Thị Mai", None),
    ("truongphong", Role.DEPARTMENT_HEAD, "Lê Văn Hùng", 0),
    ("chuyenvien", Role.SPECIALIST, "Phạm Ngọc Ánh", 0),
    ("chuyenvien2", Role.SPECIALIST, "Võ Minh Tâm", 0),
    ("truongphong2", Role.DEPARTMENT_HEAD, "Đặng Thu Hà", 1),
    ("chuyenvien3", Role.SPECIALIST, "Huỳnh Quốc Bảo", 1),
    ("lanhdao", Role.AGENCY_HEAD, "Nguyễn Văn Phúc", None),
    ("vanthu", Role.CLERK, "Bùi Thị Lan", None),
]


@dataclass
class Seeded:
    agencies: list[Agency]
    officers: dict[str, Officer]


async def seed_demo(password: str = DEMO_PASSWORD) -> Seeded:
    """Create the demo agencies and accounts unless they exist (idempotent)."""
    agencies, officers = [], {}
    shared_hash = hash_password(password)  # one argon2 run for the whole demo batch
    for spec in AGENCIES:
        agency, _ = await Agency.get_or_create(
            code=spec["code"],
            defaults={"name": spec["name"], "parent_name": spec["parent_name"], "level": spec["level"]},
        )
        agencies.append(agency)
        depts = []
        for key, name in spec["departments"]:
            dept, _ = await Department.get_or_create(agency=agency, key=key, defaults={"name": name})
            depts.append(dept)
        for suffix, role, full_name, dept_index in STAFF:
            username = f"{spec['prefix']}.{suffix}"
            officer = await Officer.get_or_none(username=username)
            if officer is None:
                officer = await create_officer(
                    username=username,
                    full_name=full_name,
                    role=role,
                    password=password,
                    agency_id=agency.id,
                    department_id=depts[dept_index].id if dept_index is not None else None,
                    password_hash=shared_hash,
                )
            officers[username] = officer
    if not await Officer.exists(username="admin"):
        officers["admin"] = await create_officer(
            username="admin",
            full_name="Quản trị hệ thống",
            role=Role.ADMIN,
            password=password,
            agency_id=None,
            password_hash=shared_hash,
        )
    await Officer.filter(id__in=[o.id for o in officers.values()]).update(demo=True)
    for officer in officers.values():
        officer.demo = True
    return Seeded(agencies, officers)


async def active_demo_accounts() -> list[str]:
    """Usernames of demo accounts that can still log in (production refuses to start with any)."""
    return sorted(await Officer.filter(demo=True, active=True).values_list("username", flat=True))
