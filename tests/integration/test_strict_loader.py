"""A typo in the data files stops start-up with one line naming the file, the entry and the
key (issue: "a typo silently empties 14a"). Each case copies the shipped sample, makes one
typo, and loads it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.usecases.settings import OrgConfig
from surveys.catalogue import CatalogueError, load_catalogue

SAMPLE = OrgConfig()
FILES = {
    "units.toml": SAMPLE.units,
    "indicators.toml": SAMPLE.indicators,
    "points.toml": SAMPLE.points,
}

# (file, text as shipped, the typo, what the one line must name)
TYPOS = [
    ("indicators.toml", 'part_of = "14"', 'part_of = "41"', ["(mã 14a)", "'part_of'", "41"]),
    ("indicators.toml", 'part_of = "14"', 'partof = "14"', ["[[indicator]] thứ", "'partof'"]),
    (
        "indicators.toml",
        '2025 = ["dat_dai", "xay_dung"]',
        '2025 = ["dat_dai", "xay_dug"]',
        ["(mã 14a)", "'fields'", "xay_dug"],
    ),
    ("indicators.toml", "2025 = 80\n", "2025 = 800\n", ["'targets'", "800", "0–100"]),
    (
        "indicators.toml",
        'unit_kinds = ["phong_ban"]',
        'unit_kinds = ["phong-ban"]',
        ["'unit_kinds'", "phong-ban"],
    ),
    # how a metric adds up over quarters: required of ratios and counts, checked
    (
        "indicators.toml",
        'direction = "min"\naggregate = "flow"\n',
        'direction = "min"\n',
        ["(mã 1a)", "'aggregate'", "flow", "stock"],
    ),
    (
        "indicators.toml",
        'aggregate = "stock"',
        'aggregate = "stok"',
        ["(mã 3a)", "'aggregate'", "stok"],
    ),
    (
        "indicators.toml",
        "baseline = [2021, 2025]\n",
        'baseline = [2021, 2025]\naggregate = "flow"\n',
        ["(mã 8b)", "'aggregate'", "stock"],
    ),
    (
        "indicators.toml",
        'part_of = "14"',
        'part_of = "14"\naggregate = "flow"',
        ["(mã 14a)", "'aggregate'"],
    ),
    # targets told as the plan tells them: a derivation of a year that has a target
    (
        "indicators.toml",
        '2030 = "duy_tri"',
        '2030 = "duytri"',
        ["(mã 1a)", "'derived'", "duytri"],
    ),
    (
        "indicators.toml",
        '[indicator.derived]\n2030 = "duy_tri"',
        '[indicator.derived]\n2031 = "duy_tri"',
        ["(mã 1a)", "'derived'", "2031"],
    ),
    ("indicators.toml", "baseline = [2021, 2025]", "baseline = [2025, 2021]", ["'baseline'"]),
    ("units.toml", 'parent = "LP"', 'parent = "PL"', ["[[unit]] thứ", "'parent'", "PL"]),
    ("units.toml", 'kind = "phong_ban"', 'kind = "phong_bann"', ["'kind'", "phong_bann"]),
    (
        "units.toml",
        'collecting_office = "PNV"',
        'collecting_office = "PVN"',
        ["[organisation]", "'collecting_office'", "PVN"],
    ),
    ("points.toml", 'kind = "y_te"', 'kind = "yte"', ["[[point]] thứ", "'kind'", "yte"]),
    (
        "points.toml",
        'questionnaire = "hanh_chinh"',
        'questionnaire = "hanhchinh"',
        ["'questionnaire'", "hanhchinh"],
    ),
    ("points.toml", 'field = "dat_dai"', 'field = "datdai"', ["'field'", "datdai"]),
    ("hanh_chinh.toml", 'feeds = ["15"]', 'feeds = ["51"]', ["hanh_chinh.toml", "'feeds'", "51"]),
    ("hanh_chinh.toml", 'feeds = ["15"]', 'feed = ["15"]', ["[[question]] thứ", "'feed'"]),
    (
        "tthc.toml",
        '{ value = "dat_dai", label',
        '{ value = "datdai", label',
        ["tthc.toml", "'options'", "datdai"],
    ),
]


def sample_copy(tmp_path: Path) -> Path:
    for name, path in FILES.items():
        shutil.copy(path, tmp_path / name)
    shutil.copytree(SAMPLE.questionnaires, tmp_path / "questionnaires")
    return tmp_path


def load(root: Path) -> None:
    load_catalogue(
        root / "units.toml",
        root / "indicators.toml",
        root / "points.toml",
        root / "questionnaires",
    )


def make_typo(root: Path, name: str, shipped: str, typo: str) -> Path:
    path = root / name if name in FILES else root / "questionnaires" / name
    text = path.read_text(encoding="utf-8")
    assert shipped in text, f"{name} no longer holds {shipped!r}"
    path.write_text(text.replace(shipped, typo, 1), encoding="utf-8")
    return path


def test_the_shipped_sample_loads(tmp_path: Path) -> None:
    load(sample_copy(tmp_path))


@pytest.mark.parametrize(("name", "shipped", "typo", "named"), TYPOS)
def test_each_kind_of_typo_is_named_in_one_line(
    tmp_path: Path, name: str, shipped: str, typo: str, named: list[str]
) -> None:
    root = sample_copy(tmp_path)
    path = make_typo(root, name, shipped, typo)
    with pytest.raises(CatalogueError) as caught:
        load(root)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    for part in named:
        assert part in message, (part, message)


def test_a_typo_stops_the_command_line_with_status_2(tmp_path: Path) -> None:
    root = sample_copy(tmp_path)
    make_typo(root, "indicators.toml", 'part_of = "14"', 'part_of = "41"')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[org]\nunits = "{root / "units.toml"}"\nindicators = "{root / "indicators.toml"}"\n'
        f'points = "{root / "points.toml"}"\nquestionnaires = "{root / "questionnaires"}"\n'
        '[survey]\nsecret = "a-test-secret-of-enough-length"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "--config", str(config), "units"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "indicators.toml" in line and "'part_of'" in line and "Traceback" not in result.stderr
