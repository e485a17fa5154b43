"""Uploads attachments until the store's file system is full (run inside a small tmpfs by
tests/integration/test_attachments.py); prints what happened as JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from estatecare.server import create_app
from tests.lifecycle_support import make_world


def main(db: str, var_dir: str, store: str) -> None:
    """Post one complaint, then 20 KiB attachments until one is refused."""
    world = make_world(db, Path(var_dir), attachments_dir=Path(store), attachments_min_free_mb=0)
    results: list[dict[str, object]] = []
    with TestClient(create_app(world.core)) as client:
        r = client.post("/api/complaints", json={"estate": "CH", "content": "大堂漏水", "complainant_name": "何太"})
        reference = r.json()["reference"]
        for i in range(40):
            up = client.post(
                f"/api/complaints/{reference}/attachments",
                params={"filename": f"相片{i}.jpg"},
                content=os.urandom(20 * 1024),
                headers={**world.auth("supervisor"), "content-type": "image/jpeg"},
            )
            results.append({"status": up.status_code, "body": up.json()})
            if up.status_code != 201:
                break
        listed = client.get(f"/api/complaints/{reference}/attachments", headers=world.auth("supervisor")).json()
        detail = client.get(f"/api/complaints/{reference}", headers=world.auth("supervisor")).json()
    files = sorted(str(p.relative_to(store)) for p in Path(store).rglob("*") if p.is_file())
    print(json.dumps({"reference": reference, "uploads": results, "listed": listed, "detail": detail, "files": files}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
