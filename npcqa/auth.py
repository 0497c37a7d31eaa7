"""Console login: salted scrypt password hashes, a brute-force throttle, and whether the console is on.

Hash format (one string, safe for an env var when single-quoted)::

    scrypt$<n>$<r>$<p>$<salt, urlsafe base64>$<key, urlsafe base64>

No default password ships: the console is enabled only when ``NPCQA_ADMIN_PASSWORD_HASH`` holds a
valid hash (``python -m npcqa.passwd`` prints one).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from npcqa.settings import Settings

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # ~16 MB, ~50 ms per check: slow for an attacker, instant for a person
KEY_LEN = 32
SALT_LEN = 16
_MAX_N = 2**20
USER_WIDE = "*"  # address part of the per-user key that counts attempts from every address
# Free failures per user across all addresses before that user is slowed down everywhere: higher than
# the per-address budget so one attacker cannot lock the maintainer out at once, low enough that an
# attacker with many addresses still gets at most ~1 guess per 30 s (the cap) after these.
USER_FREE = 10


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=max(64 * 1024 * 1024, 2 * 128 * r * n * p))


def hash_password(password: str, n: int = N, r: int = R, p: int = P) -> str:
    if not password:
        raise ValueError("password is empty")
    salt = os.urandom(SALT_LEN)
    key = _scrypt(password, salt, n, r, p, KEY_LEN)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt, key = (stored or "").strip().split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != SCHEME or n_ < 2 or n_ & (n_ - 1) or n_ > _MAX_N or not (1 <= r_ <= 64) or not (1 <= p_ <= 16):
            return None
        salt_b, key_b = _unb64(salt), _unb64(key)
        if len(salt_b) < 8 or len(key_b) < 16:
            return None
        return n_, r_, p_, salt_b, key_b
    except (ValueError, TypeError):
        return None


def is_valid_hash(stored: str | None) -> bool:
    return parse_hash(stored or "") is not None


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check of ``password`` against a stored hash; False for a malformed hash."""
    parsed = parse_hash(stored or "")
    if parsed is None or password is None:
        return False
    n, r, p, salt, key = parsed
    try:
        got = _scrypt(password, salt, n, r, p, len(key))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got, key)


def check_login(settings: Settings, user: str, password: str) -> bool:
    """True when the console is enabled and ``user``/``password`` match the configured credentials."""
    if not console_enabled(settings):
        return False
    user_ok = hmac.compare_digest((user or "").encode("utf-8"), settings.admin_user.encode("utf-8"))
    pw_ok = verify_password(password or "", settings.admin_password_hash)  # always run: no timing hint on the user
    return user_ok and pw_ok


def console_enabled(settings: Settings) -> bool:
    """The 管理 console is on only when a valid password hash is configured (no default password ships)."""
    return is_valid_hash(settings.admin_password_hash)


def console_disabled_reason(settings: Settings) -> str:
    """Why the console is off, and how to turn it on ("" when it is on)."""
    if console_enabled(settings):
        return ""
    how = ("生成密码哈希 create a hash: `python -m npcqa.passwd`, then start the app with "
           "NPCQA_ADMIN_PASSWORD_HASH='<hash>' (and optionally NPCQA_ADMIN_USER=<name>).")
    if settings.admin_password_hash:
        return "管理控制台未启用 the console is disabled: NPCQA_ADMIN_PASSWORD_HASH is not a valid scrypt hash. " + how
    return "管理控制台未启用 the console is disabled: no admin password is configured. " + how


# ---------------------------------------------------------------- brute-force throttle
@dataclass
class _Entry:
    failures: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    """Per key (user + client address) failure counter with an increasing delay.

    The first ``free`` failures cost nothing; from then on failure k (k = failures - free + 1) blocks the
    key for ``2**k`` seconds, capped at ``cap``. A success resets the key; an idle key is forgotten after
    ``forget`` seconds. State lives in memory (one process); all methods are thread-safe.

        throttle = LoginThrottle()
        key = throttle.key(user, ip)
        if (wait := throttle.retry_after(key)) > 0: refuse, "try again in {wait:.0f} s"
        elif check_login(...): throttle.success(key)
        else: throttle.failure(key)
    """

    def __init__(self, free: int = 2, cap: float = 30.0, forget: float = 900.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000, user_free: int = USER_FREE):
        self.free, self.cap, self.forget, self.clock, self.max_keys = free, cap, forget, clock, max_keys
        self.user_free = user_free
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(user: str, address: str | None) -> str:
        return f"{(user or '').strip().lower()}|{address or '?'}"

    def delay_for(self, failures: int, free: int | None = None) -> float:
        """Seconds a key is blocked after its ``failures``-th consecutive failure."""
        k = failures - (self.free if free is None else free)
        return 0.0 if k <= 0 else float(min(self.cap, 2 ** k))

    def _prune(self, now: float) -> None:
        if len(self._entries) < self.max_keys:
            return
        for key in [k for k, e in self._entries.items() if now - e.last > self.forget]:
            del self._entries[key]
        while len(self._entries) >= self.max_keys:  # still full: drop the oldest
            del self._entries[min(self._entries, key=lambda k: self._entries[k].last)]

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 = now)."""
        now = self.clock()
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return 0.0
            if now - e.last > self.forget:
                del self._entries[key]
                return 0.0
            return max(0.0, e.blocked_until - now)

    def failure(self, key: str) -> float:
        """Count a failed login; returns the delay now imposed on ``key``."""
        now = self.clock()
        with self._lock:
            return self._count(key, now, self.free)

    def _count(self, key: str, now: float, free: int) -> float:
        """One more failure on ``key`` (caller holds the lock); returns the delay it now imposes."""
        e = self._entries.get(key)
        if e is None or now - e.last > self.forget:
            self._prune(now)
            e = self._entries[key] = _Entry()
        e.failures += 1
        e.last = now
        delay = self.delay_for(e.failures, free)
        e.blocked_until = now + delay
        return delay

    def _free(self, key: str) -> int:
        return self.user_free if key.endswith("|" + USER_WIDE) else self.free

    def attempt(self, keys: list[str]) -> float:
        """Count one login attempt on every key *before* the password is checked, atomically: returns
        the seconds to wait (> 0: refused, nothing counted) or 0 (go ahead; the attempt is already
        counted as a failure, ``success`` clears it). Counting first is what makes the throttle hold
        against parallel attempts: each one sees the ones before it, even while their scrypt runs."""
        now = self.clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                e = self._entries.get(key)
                if e is not None and now - e.last <= self.forget:
                    wait = max(wait, e.blocked_until - now)
            if wait > 0:
                return wait
            for key in keys:
                self._count(key, now, self._free(key))
            return 0.0

    def success(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def failures(self, key: str) -> int:
        with self._lock:
            e = self._entries.get(key)
            return e.failures if e else 0
