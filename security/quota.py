"""Where a caller stands against a limit, told in the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers): the policy (`q` requests per `w` seconds) and what is
left of it now (`r`), with the seconds until a place frees up (`t`)."""

from __future__ import annotations

from dataclasses import dataclass

HEADERS = ("RateLimit-Policy", "RateLimit")


@dataclass(frozen=True, slots=True)
class Quota:
    policy: str
    quota: int
    window: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.quota};w={self.window}',
            "RateLimit": f'"{self.policy}";r={max(0, self.remaining)};t={max(0, self.reset)}',
        }
