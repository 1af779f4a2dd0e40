"""Back-office throughput: submissions and whole workflow walks per second, SQLite and PostgreSQL.

Baseline, measured in the same run: a bare Tortoise insert of a dossier row (no code issue,
no history, no outbox, no locking) — the floor of what one submission can cost.

    .venv/bin/python bench/workflow.py [--n 200] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.db import close_db, open_db  # noqa: E402
from backend.db.models import Dossier  # noqa: E402
from backend.domain.workflow import Role  # noqa: E402
from backend.services import citizens, dossiers  # noqa: E402
from backend.services.catalogue import Catalogue  # noqa: E402
from backend.services.context import Actor, ServiceContext  # noqa: E402
from backend.services.officers import actor_of  # noqa: E402
from backend.services.seed import seed_demo  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
FORM = {
    "declarant_name": "Nguyễn Văn An",
    "declarant_id_number": "072090001234",
    "declarant_residence": "Tây Ninh",
    "declarant_relationship": "Cha",
    "child_name": "Nguyễn Ngọc Diệp",
    "child_sex": "Nữ",
    "child_birth_datetime": "2026-11-05T08:30",
    "child_birth_place": "Bệnh viện",
    "child_ethnicity": "Kinh",
    "child_nationality": "Việt Nam",
    "mother_name": "Trần Thị Bích",
    "mother_birth_year": 1994,
    "mother_residence": "Tây Ninh",
    "parents_married": "Không",
}


async def run(url: str, n: int, conc: int) -> dict[str, float]:
    await open_db(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = ServiceContext(catalogue=Catalogue(), files_dir=Path(tmp))
            seeded = await seed_demo(password="bench-password")
            agency = seeded.agencies[0]
            ident = await citizens.identify(ctx, "bench", "1")
            citizen = Actor(Role.CITIZEN, citizen_id=ident.citizen_id)  # type: ignore[attr-defined]
            o = {k.split(".")[1]: actor_of(v) for k, v in seeded.officers.items() if k.startswith("hoathanh.")}
            spec_id = seeded.officers["hoathanh.chuyenvien"].id
            sem = asyncio.Semaphore(conc)

            async def bare(i: int) -> None:
                async with sem:
                    await Dossier.create(
                        code=f"bare-{i}",
                        procedure_slug="birth_registration",
                        agency=agency,
                        citizen_id=ident.citizen_id,
                        submitter_name="x",
                        status="submitted",
                        submitted_at=ctx.clock.now(),
                        form_data=FORM,
                    )

            async def submit(i: int) -> int:
                async with sem:
                    atts = [
                        await citizens.store_attachment(
                            ctx,
                            citizen_id=ident.citizen_id,
                            data=f"{i}-{c}".encode(),
                            mime_type="image/jpeg",
                            component=c,
                        )
                        for c in ("birth_certificate", "declarant_id")
                    ]
                    d = await dossiers.submit(
                        ctx,
                        identity_id=ident.id,
                        procedure_slug="birth_registration",
                        agency_id=agency.id,
                        form_data=FORM,
                        attachment_ids=[a.id for a in atts],
                    )
                    return d.id

            lat: list[float] = []

            async def walk(dossier_id: int) -> None:
                async with sem:
                    t = time.perf_counter()
                    await dossiers.accept(ctx, o["motcua"], dossier_id)
                    await dossiers.assign(ctx, o["truongphong"], dossier_id, spec_id)
                    await dossiers.draft_result(ctx, o["chuyenvien"], dossier_id)
                    await dossiers.approve(ctx, o["truongphong"], dossier_id)
                    await dossiers.sign(ctx, o["lanhdao"], dossier_id)
                    await dossiers.forward_result(ctx, o["chuyenvien"], dossier_id)
                    await dossiers.stamp(ctx, o["vanthu"], dossier_id)
                    await dossiers.return_result(ctx, o["motcua"], dossier_id)
                    await dossiers.close(ctx, o["motcua"], dossier_id)
                    await dossiers.rate(ctx, citizen, dossier_id, 5)
                    lat.append((time.perf_counter() - t) / 10)

            t0 = time.perf_counter()
            await asyncio.gather(*(bare(i) for i in range(n)))
            t_bare = time.perf_counter() - t0
            t0 = time.perf_counter()
            ids = await asyncio.gather(*(submit(i) for i in range(n)))
            t_submit = time.perf_counter() - t0
            t0 = time.perf_counter()
            await asyncio.gather(*(walk(i) for i in ids))
            t_walk = time.perf_counter() - t0
            lat.sort()
            return {
                "bare/s": n / t_bare,
                "submit/s": n / t_submit,
                "actions/s": 10 * n / t_walk,
                "action p50 ms": 1000 * statistics.median(lat),
                "action p99 ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
            }
    finally:
        await close_db()


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=20)
    a = p.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = await run(f"sqlite://{tmp}/bench.sqlite3", a.n, a.concurrency)
    name = f"motcua_bench_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        results["PostgreSQL"] = await run(f"postgres://postgres@127.0.0.1:5432/{name}", a.n, a.concurrency)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"\nBack office, {a.n} birth registrations, {a.concurrency} at a time")
    cols = ["bare/s", "submit/s", "submit÷bare", "actions/s", "action p50 ms", "action p99 ms"]
    print(f"{'database':<12}" + "".join(f"{c:>15}" for c in cols))
    for db, r in results.items():
        r["submit÷bare"] = r["submit/s"] / r["bare/s"]
        print(f"{db:<12}" + "".join(f"{r[c]:>15.2f}" for c in cols))


if __name__ == "__main__":
    asyncio.run(main())
