"""The order-sign call with JWT authentication on, as a real EHR always calls it.

A production deployment verifies a CDS Hooks client JWT on every call: an ES384 signature (about
0.6 ms by itself) plus a claim of the token's `jti` in the shared replay store. The benchmark
measures it on a second server configured the way production is (`require_jwt = true`, one trusted
issuer with a JWKS file), each run paired with the JWT floor (tools/bench/floor.py: bare Flask
verifying the same token with the same library and key), and reports the ratio to that floor.

Every request must carry a fresh token: a reused `jti` is a replay and is refused with 401. The
tokens are minted before the run (one per request the run can send) and wrk rotates through them
(tools/bench/wrk.py); the built-in Python load generator sends one fixed request, so this row
needs wrk.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "https://bench-ehr.cpt-plugin.invalid"
ALGORITHM = "ES384"
TOKEN_LIFETIME_SECONDS = 600


class BenchIssuer:
    """A throw-away EHR identity: a P-384 key whose public half the JWT server trusts."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        self.kid = str(uuid.uuid4())

    def jwks(self) -> dict[str, object]:
        public = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]}

    def tokens(self, audience: str, count: int) -> list[str]:
        """`count` tokens for `audience`, each with its own jti, valid for the next 10 minutes."""
        now = int(time.time())
        header = {"typ": "JWT", "kid": self.kid}
        return [
            jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": audience,
                    "iat": now,
                    "exp": now + TOKEN_LIFETIME_SECONDS,
                    "jti": f"{i}-{uuid.uuid4()}",
                },
                self.key,
                algorithm=ALGORITHM,
                headers=header,
            )
            for i in range(count)
        ]


def write_jwt_config(
    path: Path,
    work_dir: Path,
    extra_paths: list[Path],
    issuer: BenchIssuer,
    *,
    storage_url: str | None = None,
    public_base_url: str | None = None,
) -> Path:
    """A fresh server configuration (its own database, or `storage_url`) with JWT required and
    `issuer` trusted; `public_base_url` when the tokens name a proxy's URL (the scale-out rows)."""
    from tools.bench.servers import write_config

    jwks_file = path.parent / f"{path.stem}-jwks.json"
    jwks_file.write_text(json.dumps(issuer.jwks()))
    text = write_config(path, work_dir, extra_paths, storage_url).read_text()
    if public_base_url:
        text += f'[server]\npublic_base_url = "{public_base_url}"\n'
    text += (
        "[security]\nrequire_jwt = true\n"
        "[[security.issuers]]\n"
        f'iss = "{ISSUER}"\n'
        f'jwks_file = "{jwks_file.as_posix()}"\n'
        f'algorithms = ["{ALGORITHM}"]\n'
    )
    path.write_text(text)
    return path
