"""The chat commands' table (bot/usecases/router.py): one entry per command, with its
aliases, handler and role; the router checks the role once, before the handler runs."""

from __future__ import annotations

import inspect

import pytest

from bot.usecases.people import Person, Role
from bot.usecases.router import BY_NAME, COMMANDS
from db.models import Member
from surveys import texts as T
from surveys.catalogue import OrgWords

WORDS = OrgWords("UBND huyện Long Phú", "huyện", "toàn huyện", "Phòng Nội vụ")


def person(*, admin: bool = False, head: bool = False, group: bool = False) -> Person:
    member = Member(unit_code="PNV", channel="telegram", user_id="1", chat_id="1") if head else None
    return Person("telegram", "1", "1", "Ai đó", admin, member, None, in_admin_group=group)


def test_every_name_and_alias_names_one_command() -> None:
    names = [name for c in COMMANDS for name in (c.name, *c.aliases)]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert {"trangthai", "baocao", "xuat", "nhacnho", "dotxuat", "lienket"} <= set(BY_NAME)


def test_every_handler_takes_the_core_a_session_a_person_and_the_arguments() -> None:
    for command in COMMANDS:
        assert len(inspect.signature(command.handler).parameters) == 4, command.name


@pytest.mark.parametrize(
    ("role", "admin", "head", "citizen", "admin_group"),
    [
        (Role.ANYONE, True, True, True, True),
        (Role.STAFF, True, True, False, False),
        (Role.MEMBER, False, True, False, False),
        (Role.STATUS, True, False, False, True),
        (Role.ADMIN, True, False, False, False),
    ],
)
def test_who_each_role_lets_in(
    role: Role, admin: bool, head: bool, citizen: bool, admin_group: bool
) -> None:
    assert role.allows(person(admin=True)) is admin
    assert role.allows(person(head=True)) is head
    assert role.allows(person()) is citizen
    assert role.allows(person(group=True)) is admin_group


def test_the_district_s_commands_need_an_admin_and_refuse_politely() -> None:
    for name in ("nhacnho", "donvi", "dotxuat", "khaosat_chinhthuc", "baocaotonghop"):
        command = BY_NAME[name]
        assert command.role is Role.ADMIN
        [refusal] = command.refuse(person(), WORDS)
        assert refusal.text == T.ADMIN_ONLY.format(office="Phòng Nội vụ")
    assert BY_NAME["trangthai"].role is Role.STATUS and BY_NAME["xuat"].role is Role.STATUS
    [refusal] = BY_NAME["baocao"].refuse(person(), WORDS)
    assert (
        refusal.text == T.MEMBER_ONLY.format(office="Phòng Nội vụ")
        and BY_NAME["baocao"].private_only
    )
