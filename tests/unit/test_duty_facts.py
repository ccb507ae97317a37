"""Fact labels of the /duty pane: catalogue labels and readable values, never raw keys."""

from __future__ import annotations

import pytest

from layouts.duty_facts import evidence_text, fact_value, facts_text, label
from layouts.i18n import CATALOGUES

NAMES = {320102: "玄武区", 320508: "姑苏区", 320100: "南京市"}


@pytest.mark.parametrize(
    ("key", "value", "zh"),
    [
        ("licence_no", "320102000001", "320102000001"),
        ("from", 320102, "玄武区"),
        ("seen_in", [320102, 320508], "玄武区、姑苏区"),
        ("coverage", 0.125, "12.5%"),
        ("border", True, "是"),
        ("ratio", 4.2, "4.2"),
        ("first_at", 1_790_000_000_000, "2026-09-21 22:13:20"),  # China Standard Time
    ],
)
def test_fact_values_read_as_text(key, value, zh):
    assert fact_value("zh", key, value, NAMES).startswith(zh)


def test_every_detector_fact_has_a_label_in_both_languages():
    keys = ("licence_no", "per_1000", "baseline_per_day", "far_observations", "holder", "span_days")
    for lang in ("zh", "en"):
        assert all(label(lang, k) != k for k in keys)
    assert label("zh", "some_new_fact") == "some_new_fact"  # shown as it is until it gets a label


def test_the_pane_shows_labels_not_keys():
    w = {
        "id": "W1", "region": 320102, "raised_at": 1_790_000_000_000,
        "facts": {"licence_no": "320102000001", "per_1000": 1.5, "far_observations": 3},
        "evidence": {"licences": ["320102000001"], "complaints": ["C1"]},
    }  # fmt: skip
    text = facts_text(w, "zh", NAMES)
    assert "许可证号: 320102000001" in text and "每千人户数: 1.5" in text
    assert "licence_no" not in text and "per_1000" not in text and "raised_at" not in text
    assert evidence_text(w, "zh") == "许可证: 320102000001\n举报: C1"
    assert set(k for k in CATALOGUES["zh"] if k.startswith("duty.fact.")) == set(
        k for k in CATALOGUES["en"] if k.startswith("duty.fact.")
    )
