"""A target's source and an indicator's reference are read in English and French, as labels
are; an older catalogue file giving the English alone still reads, and says so in French."""

from __future__ import annotations

import pytest

from indicators import load_catalogue
from indicators.catalogue.definitions import Indicator, Target
from reports._i18n import localised


def test_every_builtin_target_and_reference_has_its_french():
    for indicator in load_catalogue():
        if indicator.reference is not None:
            assert indicator.reference_fr, indicator.id
        if indicator.target is not None:
            assert indicator.target.source_fr, indicator.id
    ll01 = load_catalogue().get("LL01")
    assert ll01.reference_in("fr") == "ODD 4.3.1 ; objectif de l'UE pour 2030"
    assert ll01.target is not None
    assert ll01.target.source_in("fr").startswith("Objectif de l'UE pour 2030")
    assert ll01.target.source_in("en").startswith("EU 2030 target")


def test_a_target_reads_both_forms_of_french():
    written = Target.model_validate({"value": 1, "source": {"en": "Plan", "fr": "Plan local"}})
    apart = Target.model_validate({"value": 1, "source": "Plan", "source_fr": "Plan local"})
    assert written == apart and written.source_in("fr") == "Plan local"
    with pytest.raises(ValueError, match="given twice"):
        Target.model_validate({"value": 1, "source": {"en": "a", "fr": "b"}, "source_fr": "c"})
    with pytest.raises(ValueError, match="keys en and fr"):
        Target.model_validate({"value": 1, "source": {"en": "a", "de": "b"}})


def test_an_older_file_giving_english_alone_reads_and_the_french_says_it_is_english():
    older = Indicator.model_validate(
        load_catalogue().get("LL01").model_dump(exclude={"reference_fr", "target"})
        | {"reference": "SDG 4.3.1", "target": {"value": 60, "source": "Council plan"}})
    assert older.reference_in("fr") == "SDG 4.3.1"
    assert older.target is not None and older.target.source_in("fr") == "Council plan"
    assert localised(older.target.source, older.target.source_fr, "fr") == \
        "Council plan (en anglais)"
    assert localised(older.target.source, older.target.source_fr, "en") == "Council plan"
    assert localised("Plan", "Plan : local", "fr") == "Plan\u00a0: local"
