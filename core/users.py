"""Local users: a YAML file of names, password hashes, roles and region scopes, and its command line.

    python -m core.users add NAME --role duty --scope 320100 [--display-name 南京值班] [--password-stdin]
    python -m core.users passwd NAME [--password-stdin]
    python -m core.users list
    python -m core.users remove NAME

The file (``auth.users_file``, default ``var/users.yaml``) is a YAML list of
``{name, password_hash, role, scope, display_name}``. Passwords are stored only as salted scrypt hashes
(Werkzeug's ``generate_password_hash``); the file is written atomically with mode 0600. The web process
re-reads it when it changes, so adding, removing or re-scoping a user needs no restart, and a removed
user's sessions end at their next request.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import os
import re
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from werkzeug.security import check_password_hash, generate_password_hash

from core.auth import ROLES, scope_prefix

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: passwords longer than this are refused before hashing (a huge input would cost CPU, not security)
MAX_PASSWORD = 1024
MIN_PASSWORD = 8


@functools.cache
def _dummy_hash() -> str:
    """Compared against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return generate_password_hash("watchfloor-no-such-user", method="scrypt")


class UsersError(ValueError):
    """The users file or a user's fields are not valid; the message says which and why."""


@dataclass(frozen=True)
class UserRecord:
    """One local user as stored in the users file."""

    name: str
    password_hash: str
    role: str
    scope: int
    display_name: str = ""


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (the only form a password is ever stored in)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UsersError(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return generate_password_hash(password, method="scrypt")


def verify_password(record: UserRecord | None, password: str) -> bool:
    """Whether ``password`` is the password of ``record``; an unknown user costs the same time."""
    if len(password) > MAX_PASSWORD:
        return False
    if record is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(record.password_hash, password)


def check_record(record: UserRecord, province: int | None = None) -> UserRecord:
    """``record`` if its fields are valid (scope inside ``province`` when given), else :class:`UsersError`."""
    if not NAME_PATTERN.match(record.name):
        raise UsersError(f"name {record.name!r}: letters, digits and . _ @ - only, at most 64 characters")
    if record.role not in ROLES:
        raise UsersError(f"user {record.name}: role {record.role!r} is not one of {', '.join(ROLES)}")
    if not isinstance(record.scope, int) or not 110000 <= record.scope <= 829999:
        raise UsersError(f"user {record.name}: scope {record.scope!r} is not a six-digit adcode")
    if province is not None and not f"{record.scope}".startswith(scope_prefix(province)):
        raise UsersError(f"user {record.name}: scope {record.scope} lies outside the province {province}")
    if not record.password_hash.startswith(("scrypt:", "pbkdf2:")):
        raise UsersError(f"user {record.name}: password_hash is not a Werkzeug scrypt/pbkdf2 hash")
    return record


def load_users(path: Path) -> dict[str, UserRecord]:
    """The users of ``path`` by name; a missing file means no users."""
    if not path.exists():
        return {}
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise UsersError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(items, list):
        raise UsersError(f"{path}: must be a YAML list of users")
    users: dict[str, UserRecord] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise UsersError(f"{path}: item {index} is not a mapping")
        try:
            record = UserRecord(**{k: item[k] for k in item if k in UserRecord.__dataclass_fields__})
        except TypeError as exc:
            raise UsersError(f"{path}: item {index}: {exc}") from None
        check_record(record)
        if record.name in users:
            raise UsersError(f"{path}: user {record.name} is listed twice")
        users[record.name] = record
    return users


def save_users(path: Path, users: dict[str, UserRecord]) -> None:
    """Write ``users`` to ``path`` atomically (a temporary file renamed over it), readable by owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(
        [asdict(u) for u in sorted(users.values(), key=lambda u: u.name)], allow_unicode=True, sort_keys=False
    )
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("# Watchfloor local users: manage with `python -m core.users` (hashes only).\n")
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class UsersFile:
    """The users file as the web process sees it: re-read whenever its size or modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, UserRecord] = {}

    def get(self, name: str) -> UserRecord | None:
        """The user called ``name`` now, or None."""
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp != self._stamp:
            # a broken edit must not lock everybody out silently: keep the last good list and say why
            try:
                self._users = load_users(self.path)
            except UsersError as exc:
                print(f"watchfloor: users file not reloaded: {exc}", file=sys.stderr)
            self._stamp = stamp
        return self._users.get(name)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise UsersError("the two passwords differ; nothing was changed")
    return first


def main(argv: list[str] | None = None) -> int:
    """``python -m core.users``: add, passwd, list or remove local users."""
    from core.settings import load_or_exit

    parser = argparse.ArgumentParser(
        prog="python -m core.users", description="Manage Watchfloor local users."
    )
    parser.add_argument("--file", help="users file (default: auth.users_file of the settings)")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a user (or replace one with --replace)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--scope", required=True, type=int, help="adcode: 320000, a city 320100, a county 320102"
    )
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one stdin line")
    add.add_argument("--replace", action="store_true", help="overwrite an existing user of that name")
    pw = sub.add_parser("passwd", help="set a new password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    sub.add_parser("list", help="list users (never their hashes)")
    rm = sub.add_parser("remove", help="remove a user; their sessions end at their next request")
    rm.add_argument("name")
    args = parser.parse_args(argv)

    settings = load_or_exit()
    path = Path(args.file) if args.file else settings.path(settings.auth.users_file)
    try:
        users = load_users(path)
        if args.command == "list":
            for u in users.values():
                print(f"{u.name}\t{u.role}\t{u.scope}\t{u.display_name}")
            return 0
        if args.command in ("remove", "passwd") and args.name not in users:
            raise UsersError(f"no user {args.name!r} in {path}")
        if args.command == "remove":
            del users[args.name]
        elif args.command == "passwd":
            old = users[args.name]
            users[args.name] = UserRecord(
                old.name,
                hash_password(_read_password(args.password_stdin)),
                old.role,
                old.scope,
                old.display_name,
            )
        else:
            if args.name in users and not args.replace:
                raise UsersError(f"user {args.name!r} exists; use --replace to overwrite it")
            record = UserRecord(args.name, "scrypt:", args.role, args.scope, args.display_name)
            check_record(record, settings.geo.province_adcode)  # before asking for a password
            password = hash_password(_read_password(args.password_stdin))
            users[args.name] = UserRecord(args.name, password, args.role, args.scope, args.display_name)
        save_users(path, users)
    except UsersError as exc:
        print(f"watchfloor: {exc}", file=sys.stderr)
        return 2
    print(f"{args.command}: {args.name} ({path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
