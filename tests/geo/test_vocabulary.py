"""geo.vocabulary: one table of every coded value, each with a Chinese and an English label."""

from __future__ import annotations

import re

import pytest

from geo import vocabulary
from geo.buildings import USES
from geo.hydrants import KINDS, STATUSES
from geo.presets import HYDRANT_STATUSES, SEVERITIES
from geo.vocabulary import VOCABULARIES, Vocabulary

HEX = re.compile(r"^#[0-9a-f]{6}$")


@pytest.mark.parametrize("vocab", VOCABULARIES.values(), ids=list(VOCABULARIES))
def test_every_code_has_two_labels(vocab: Vocabulary) -> None:
    assert vocab.codes, vocab.name
    assert len(set(vocab.codes)) == len(vocab.codes), vocab.name  # no code twice
    for term in vocab.terms:
        assert re.fullmatch(r"[a-z0-9_]+", term.code), term
        assert term.zh.strip() and term.en.strip(), term
        assert re.search(r"[\u4e00-\u9fff]", term.zh) or term.zh == term.en == "OSM", term
        assert term.colour is None or HEX.match(term.colour), term
    # two codes of one concept never read the same: a reader could not tell them apart
    assert len({t.zh for t in vocab.terms}) == len(vocab.terms), vocab.name
    assert len({t.en for t in vocab.terms}) == len(vocab.terms), vocab.name


def test_the_chosen_words() -> None:
    """Where the old tables disagreed: the agency tables' 在用/停用, the reports' 状态不明."""
    status = vocabulary.HYDRANT_STATUS
    assert [status.label(c) for c in status.codes] == ["在用", "停用", "水压不足", "状态不明"]
    assert status.label("out_of_service", "en") == "out of service"
    assert vocabulary.BUILDING_CLASS.label("class1") == "一类高层"  # GB 50016 5.1.1
    assert [vocabulary.DISTRICT_GRADE.label(g) for g in vocabulary.DISTRICT_GRADES] == [
        "严重", "较重", "一般"]
    assert [vocabulary.SEVERITY.label(s) for s in vocabulary.SEVERITIES] == ["应（强制）", "宜（推荐）"]
    # a narrowed lane is still passable (routing.blockages: effect 'narrowed' when passable)
    assert vocabulary.BLOCKAGE_EFFECT.label("narrowed") == "变窄（可通行）"


def test_legend_colours_where_the_maps_use_them() -> None:
    for vocab in (vocabulary.HYDRANT_STATUS, vocabulary.DISTRICT_GRADE, vocabulary.LEDGER_STATUS):
        assert all(t.colour for t in vocab.terms), vocab.name
    assert all(vocabulary.BUILDING_CLASS.colour(c) for c in vocabulary.HIGH_RISE_CLASSES)
    # the four statuses are four colours on the map
    assert len({t.colour for t in vocabulary.HYDRANT_STATUS.terms}) == 4


def test_the_two_meanings_of_high_rise_class() -> None:
    assert vocabulary.BUILDING_CLASSES == ("not_high_rise", "class2", "class1", "unknown")
    assert vocabulary.HIGH_RISE_CLASSES == ("class1", "class2")
    assert set(vocabulary.HIGH_RISE_CLASSES) < set(vocabulary.BUILDING_CLASSES)


def test_the_modules_use_the_one_table() -> None:
    assert STATUSES is vocabulary.HYDRANT_STATUSES and HYDRANT_STATUSES is vocabulary.HYDRANT_STATUSES
    assert KINDS is vocabulary.HYDRANT_KINDS and SEVERITIES is vocabulary.SEVERITIES
    assert set(USES) == set(vocabulary.BUILDING_USES)
    assert set(vocabulary.OBSERVED_HYDRANT_STATUSES) == set(vocabulary.HYDRANT_STATUSES) - {"unknown"}
    assert set(vocabulary.LEDGER_OPEN_STATUSES) < set(vocabulary.LEDGER_STATUSES)


def test_term_lookup_names_the_known_codes() -> None:
    with pytest.raises(KeyError, match="in_service, out_of_service"):
        vocabulary.HYDRANT_STATUS.term("faulty")
    assert "faulty" not in vocabulary.HYDRANT_STATUS
    assert vocabulary.HYDRANT_STATUS.colour("in_service") == "#1565c0"


def test_document_round_trips_the_tables() -> None:
    doc = vocabulary.vocabulary_document()
    vocabs = doc["vocabularies"]
    assert isinstance(vocabs, dict) and list(vocabs) == list(VOCABULARIES)
    status = vocabs["hydrant_status"]
    assert status["columns"] == ["status"]
    assert status["terms"][1] == {"code": "out_of_service", "zh": "停用", "en": "out of service",
                                  "colour": "#212121"}
    assert doc["high_rise_classes"] == ["class1", "class2"]
    assert doc["not_computed"] == {"zh": "不计算", "en": "not computed"}
