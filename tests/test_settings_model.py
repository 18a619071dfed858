"""The typed settings sections agree with the schema, hold typed values, and refuse keys they do not have.

The schema (graphlinker.settings.schema) checks ranges and names bad keys; the model
(graphlinker.settings.model) is what code reads. If a key were added to one and not the other,
or typed differently, code would read a value the checks never saw.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from graphlinker.errors import ConfigError
from graphlinker.settings import Settings, model, schema

# what each schema spec must be read as (the annotation of the model's field)
EXPECTED_TYPE = {
    schema.Number: "float",
    schema.Integer: "int",
    schema.Choice: "str",
    schema.ModelFile: "str",
    schema.Text: "str",
    schema.Boolean: "bool",
    schema.Ramp: "list[float]",
    schema.CodeList: "list[str]",
}


def _table_type(spec: schema.Table) -> str:
    inner = {EXPECTED_TYPE[type(s)] for s in list(spec.fields.values()) + ([spec.other] if spec.other else [])}
    assert len(inner) == 1, inner
    return f"dict[str, {inner.pop()}]"


@pytest.mark.parametrize("section", sorted(model.SECTIONS))
def test_every_key_of_the_schema_is_a_typed_field_and_nothing_else(section):
    spec = schema.schema().fields[section]
    fields = {f.name: f.type for f in dataclasses.fields(model.SECTIONS[section])}
    assert set(fields) == set(spec.fields)
    for name, sub in spec.fields.items():
        expected = _table_type(sub) if isinstance(sub, schema.Table) else EXPECTED_TYPE[type(sub)]
        assert fields[name] == expected, f"{section}.{name}: declared {fields[name]}, the schema checks {expected}"


def test_loaded_values_have_their_declared_types(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[templates]\nthreshold = 1\n[linking]\nmin_edge_weight = 1\n")  # TOML integers for float settings
    settings = Settings.load(config)
    assert settings.templates.threshold == 1.0 and isinstance(settings.templates.threshold, float)
    assert isinstance(settings.linking.min_edge_weight, float)
    base = {"float": float, "int": int, "str": str, "bool": bool}
    for name in model.SECTIONS:
        section = getattr(settings, name)
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if f.type in base:
                assert type(value) is base[f.type], f"{name}.{f.name} = {value!r} is not {f.type}"
            else:
                assert isinstance(value, list if f.type.startswith("list") else dict), f"{name}.{f.name}"


def test_a_section_still_reads_as_the_table_it_came_from():
    settings = Settings.load()
    assert settings.scoring["flag_threshold"] == settings.scoring.flag_threshold
    assert dict(settings.linking)["weights"] is settings.linking.weights
    assert set(settings.detection) == {"engine", "resolution", "seed", "merge_fragments", "fragment_ratio",
                                       "keep_waves_together", "wave_alpha", "gds_algorithm", "gds_concurrency"}
    with pytest.raises(KeyError):
        settings.detection["enigne"]
    moved = replace(settings, scoring={**settings.scoring, "flag_threshold": 0.25})
    assert isinstance(moved.scoring, model.ScoringSettings) and moved.scoring.flag_threshold == 0.25
    assert settings.as_dict()["scoring"]["flag_threshold"] == settings.scoring.flag_threshold


@pytest.mark.parametrize("table", [
    {"flag_treshold": 0.5},  # a typo next to the real key
    "drop flag_threshold",  # a missing key
])
def test_a_section_refuses_keys_it_does_not_have(table):
    settings = Settings.load()
    scoring = dict(settings.scoring)
    if table == "drop flag_threshold":
        del scoring["flag_threshold"]
        expected = "missing key(s) flag_threshold"
    else:
        scoring.update(table)
        expected = "unknown key(s) flag_treshold"
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        replace(settings, scoring=scoring)
