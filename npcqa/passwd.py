"""``python -m npcqa.passwd`` — print a password hash for ``NPCQA_ADMIN_PASSWORD_HASH``.

    python -m npcqa.passwd                  asks twice (input hidden)
    printf '%s\\n' "$PW" | python -m npcqa.passwd   reads one line from stdin (scripts, CI)
    python -m npcqa.passwd --env            prints NPCQA_ADMIN_PASSWORD_HASH='...' ready for an env file

Only the hash is printed on stdout; the password is never echoed or stored.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from npcqa.auth import hash_password

MIN_LENGTH = 8


def _read_password(stdin_tty: bool) -> str:
    if stdin_tty:
        first = getpass.getpass("新密码 new console password: ")
        second = getpass.getpass("再输一次 repeat it: ")
        if first != second:
            raise ValueError("the two entries differ; run again")
        return first
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m npcqa.passwd", description=__doc__.splitlines()[0])
    p.add_argument("--env", action="store_true", help="print an env assignment instead of the bare hash")
    args = p.parse_args(argv)
    try:
        password = _read_password(sys.stdin.isatty())
    except (ValueError, EOFError, KeyboardInterrupt) as exc:
        print(f"错误: {exc or 'no password given'}", file=sys.stderr)
        return 2
    if len(password) < MIN_LENGTH:
        print(f"错误: the password must have at least {MIN_LENGTH} characters", file=sys.stderr)
        return 2
    hashed = hash_password(password)
    print(f"NPCQA_ADMIN_PASSWORD_HASH='{hashed}'" if args.env else hashed)
    if sys.stderr.isatty():
        print("Set it single-quoted (the hash contains $): export NPCQA_ADMIN_PASSWORD_HASH='<hash>'",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
