"""Tests of graphlinker.templates: normalisation, fingerprints, tags, redaction, TemplateIndex."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphlinker.errors import ConfigError
from graphlinker.templates import (
    ExtractionRules,
    TemplateIndex,
    fold_prompts,
    normalise_prompts,
    normalise_text,
    redact,
    redact_series,
    template_ids,
)
from graphlinker.templates.normalise import fold_text
from graphlinker.templates.table import TEMPLATE_COLUMNS

RULES = ExtractionRules.load()

# Characters that exercise every masking rule and Unicode corner (composition after
# a placeholder, case folding that changes length, fullwidth forms, other digits).
TRICKY = list("ab wW1029.,:/@'\"`_-<>#\n\t“”„‘’«»‹›「」『』") + [
    "\u0338", "\u0301", "\u0345", "ß", "İ", "Ｓ", "①", "٣", "\u00a0", "\u3000", "ﬁ", "ǅ", "Ꭰ", "ꭰ",
    "http://", "www.", "x@y.co", "```", "sk-", "+1 ", "<num>", "e\u0301",
]
tricky_text = st.lists(st.sampled_from(TRICKY), max_size=30).map("".join)
any_text = st.one_of(st.text(), tricky_text)


def norm(text: str) -> str:
    return normalise_prompts(pd.Series([text]))[0]


# ----------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Compute 1,234.5 + 3 and 0.25 now", "compute <num> + <num> and <num> now"),
        ("Item42 costs 1_000_000 or 3,14 or 1'000", "item<num> costs <num> or <num> or <num>'<num>"),
        ("''nested 'quotes' here''", "<quote>"),
        ("٣٤ apples and ①", "<num> apples and <num>"),
        ("See https://example.com/a?b=1&c=2. Then go", "see <url>. then go"),
        ("visit www.Example.org/path/9 today", "visit <url> today"),
        ("ftp://files.example.net/x (mirror)", "<url> (mirror)"),
        ("mail John.Doe+x@Example.co.uk now", "mail <email> now"),
        ('He said "hello there 42" ok', "he said <quote> ok"),
        ("“bonjour” «hola» 「こんにちは」 『x』 ‘hi’ „hallo“", "<quote> <quote> <quote> <quote> <quote> <quote>"),
        ("don't touch 'this one' or the students' work", "don't touch <quote> or the students' work"),
        ("run `ls -la 3` then ```python\nprint(1)\n``` done", "run <code> then <code> done"),
        ("unterminated ```code 123\nmore", "unterminated <code>"),
        ("``double ticks``", "<code>"),
        ("http://x.com/123 and 456", "<url> and <num>"),
        ("  a\t\n b  \r\n", "a b"),
        ("ＳＯＬＶＥ　ｔｈｉｓ", "solve this"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_masking_examples(raw, expected):
    assert normalise_text(raw) == expected
    assert norm(raw) == expected


def test_missing_values_become_empty_and_index_is_kept():
    s = pd.Series(["A 1", None, np.nan, pd.NA, "b"], index=[10, 11, 12, 13, 14], dtype=object)
    out = normalise_prompts(s)
    assert out.tolist() == ["a <num>", "", "", "", "b"]
    assert out.index.tolist() == [10, 11, 12, 13, 14]
    assert normalise_prompts(pd.Series([], dtype=object)).tolist() == []


def test_vectorised_path_handles_empty_rows_and_sliced_arrays():
    s = pd.Series([":0", "", "Ｘ 1", "", "`a` 'b' 2", ""] * 3, dtype="str")
    expected = [normalise_text(t) for t in s]
    assert normalise_prompts(s).tolist() == expected
    assert normalise_prompts(s.iloc[4:11]).tolist() == expected[4:11]
    assert redact_series(s.iloc[1:8]).tolist() == [redact(t) for t in s.iloc[1:8]]


def test_lone_surrogates_do_not_break_the_vectorised_path():
    s = pd.Series(["bad \ud800 text 1", "ok"], dtype=object)
    assert normalise_prompts(s).tolist() == ["bad \ufffd text <num>", "ok"]


def test_fold_keeps_content_and_matches_scalar():
    s = pd.Series(["Step By STEP 12", "ＳＯＬＶＥ\n\nit", None])
    assert fold_prompts(s).tolist() == ["step by step 12", "solve it", ""]
    assert [fold_text(x) for x in s] == fold_prompts(s).tolist()


# ----------------------------------------------------------------------------- fingerprints


def test_slot_variants_share_a_template_and_templates_differ():
    prompts = pd.Series(
        [
            "Solve problem 12 of 500: what is 3 * 7? Email answer to a@b.com",
            "Solve problem 499 of 500: what is 81 * 2.5? Email answer to zed@corp.example.org",
            "Solve problem 1 of 500: what is 1,000 * 7? Email answer to q@x.io",
            "Translate 'hello' into French",
            "Translate 'good night, see you' into French",
            "Summarize the following text: cats are mammals",
        ]
    )
    ids = template_ids(normalise_prompts(prompts))
    assert ids.str.fullmatch(r"[0-9a-f]{16}").all()
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] == ids[4]
    assert len({ids[0], ids[3], ids[5]}) == 3


def test_nfkc_and_case_variants_group_together():
    ids = template_ids(normalise_prompts(pd.Series(["ＳＯＬＶＥ ｘ＝１２", "solve x=7", "SOLVE X=3"])))
    assert ids.nunique() == 1


def test_template_ids_are_stable_and_index_aligned():
    ids = template_ids(pd.Series(["a", "b", "a"], index=[7, 8, 9]))
    assert ids.index.tolist() == [7, 8, 9]
    assert ids[7] == ids[9] != ids[8]
    assert template_ids(pd.Series([""]))[0] == "ef46db3751d8e999"  # xxh64(b"", seed 0)


# ----------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("prompt", "tag"),
    [
        ("Solve this step by step and show all intermediate steps", "cot_elicitation"),
        ("Please explain your reasoning before answering.", "cot_elicitation"),
        ("Give me your full reasoning trace.", "cot_elicitation"),
        ("Resuelve el problema paso a paso.", "cot_elicitation"),
        ("Löse die Aufgabe Schritt für Schritt.", "cot_elicitation"),
        ("Résous le problème étape par étape.", "cot_elicitation"),
        ("Реши задачу шаг за шагом.", "cot_elicitation"),
        ("Покажи свои рассуждения.", "cot_elicitation"),
        ("请一步一步地思考这个问题", "cot_elicitation"),
        ("请给出完整的推理过程", "cot_elicitation"),
        ("ステップバイステップで考えてください", "cot_elicitation"),
        ("ＳＴＥＰ ＢＹ ＳＴＥＰ please", "cot_elicitation"),
        ("You are a strict grader. Score the following response from 1 to 10.", "grader_prompt"),
        ("Rate the answer below on a scale of 1-5.", "grader_prompt"),
        ("Act as a reward model. Which response is better, A or B?", "grader_prompt"),
        ("请对以下回答评分", "grader_prompt"),
        ('<tool_call>{"name": "search", "arguments": {"q": "x"}}</tool_call>', "agentic_transcript"),
        ("Thought: look it up\nAction: search\nAction Input: weather\nObservation: sunny", "agentic_transcript"),
        ('{"type": "tool_use", "id": "toolu_1"}', "agentic_transcript"),
        ("Problem 17 of 500: integrate x^2", "capability_sweep"),
        ("Question #204: what is the capital of Peru?", "capability_sweep"),
        ("Generate 50 questions about organic chemistry", "capability_sweep"),
        ("Eres un evaluador imparcial. ¿Cuál respuesta es mejor?", "grader_prompt"),
        ("Du bist ein strenger Bewerter. Bewerte die Antwort von 1 bis 10.", "grader_prompt"),
        ("Tu es un évaluateur. Note la réponse suivante.", "grader_prompt"),
        ("Ты строгий оценщик. Оцени ответ по шкале от 1 до 10.", "grader_prompt"),
        ("比较两个回答，哪个回答更好？", "grader_prompt"),
        ("Problema 12 de 500: resuelve la integral", "capability_sweep"),
        ("Erstelle 40 schwierige Fragen zu Thermodynamik", "capability_sweep"),
        ("Génère 30 exercices difficiles sur les matrices", "capability_sweep"),
        ("Задача 7 из 300: найдите производную", "capability_sweep"),
        ("请生成50道关于概率论的练习题", "capability_sweep"),
        ("第12题，共500题：求积分", "capability_sweep"),
    ],
)
def test_tags_fire(prompt, tag):
    assert tag in RULES.tag(pd.Series([prompt]))[0].split(";")


@pytest.mark.parametrize(
    "prompt",
    [
        "Summarize the following text: the meeting moved to Tuesday.",
        "Explain photosynthesis simply",
        "Translate into French: good morning",
        "Write a haiku about autumn leaves",
        "What is the accurate measurement on a scale model?",
        "¿Qué tiempo hace hoy en Madrid?",
        "Wie spät ist es in Berlin?",
        "Ответь коротко: что такое фотосинтез?",
        "请把这句话翻译成英文",
        "帮我写3个句子",
        "",
    ],
)
def test_tags_do_not_fire_on_ordinary_prompts(prompt):
    assert RULES.tag(pd.Series([prompt]))[0] == ""


def test_tag_strings_are_sorted_and_joined():
    out = RULES.tag(pd.Series(["Step by step: problem 3 of 9. You are a grader."], index=[5]))
    assert out.index.tolist() == [5]
    assert out[5] == "capability_sweep;cot_elicitation;grader_prompt"


def test_weights_are_data():
    assert set(RULES.weights) == {"cot_elicitation", "grader_prompt", "agentic_transcript", "capability_sweep"}
    assert all(0.0 <= w <= 1.0 for w in RULES.weights.values())


@given(st.lists(st.sampled_from(["step by step", "шаг за шагом", "problem 3 of 40", "逐步", "you are a grader",
                                 '"name": "f", "arguments"', "rate it on a scale", "x", " ", "é", "\n", "ß"]),
                max_size=8).map("".join))
@settings(max_examples=150, deadline=None)
def test_tag_engine_agrees_with_python_re(text):
    folded = fold_text(text)
    expected = sorted(
        rule.name for rule in RULES.rules if any(re.search(p, folded, re.IGNORECASE) for p in rule.patterns)
    )
    assert RULES.tag(pd.Series([text]))[0] == ";".join(expected)


GOOD_TAG = '[[tag]]\nname = "a"\nweight = 0.5\ndescription = "d"\npatterns = ["x+y"]\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[tag]\nname = ", "invalid TOML"),
        (GOOD_TAG.replace('"x+y"', '"(unclosed"'), "not a valid regular expression"),
        (GOOD_TAG.replace("0.5", "1.5"), "weight"),
        (GOOD_TAG.replace("0.5", "true"), "weight"),
        (GOOD_TAG.replace('description = "d"\n', ""), "missing"),
        (GOOD_TAG.replace('name = "a"', 'name = "A;B"'), "name"),
        (GOOD_TAG.replace('"x+y"', '"x*"'), "empty text"),
        (GOOD_TAG.replace("patterns", "pattern"), "unknown key"),
        (GOOD_TAG + GOOD_TAG, "duplicate"),
        ("title = 'x'\n", "unknown top-level"),
        ("", "no [[tag]]"),
    ],
)
def test_bad_rules_raise_config_error(tmp_path, toml, message):
    path = tmp_path / "rules.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        ExtractionRules.load(path)


def test_missing_rules_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        ExtractionRules.load(tmp_path / "nope.toml")


def test_custom_rules_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(GOOD_TAG.replace('"x+y"', r'"\\bfoo\\b", "bar"'), encoding="utf-8")
    rules = ExtractionRules.load(path)
    assert rules.tag(pd.Series(["a foo b", "food", "BAR", "é foo"])).tolist() == ["a", "", "a", "a"]


# ----------------------------------------------------------------------------- redaction


SECRETS = {
    "email": "jane.doe+work@example.com",
    "phone_intl": "+1 (415) 555-0134",
    "phone_us": "415-555-0134",
    "phone_de": "+49 30 12345678",
    "card": "4111 1111 1111 1111",
    "card_dashes": "5500-0000-0000-0004",
    "card_plain": "378282246310005",
    "sk_key": "sk-proj-Ab3dEf9hIjKlMn0pQrStUvWx",
    "ant_key": "sk-ant-api03-ZZyyXX1122",
    "github": "ghp_1234567890abcdefghijABCDEFGHIJ",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "hex": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    "b64": "dGhpcyBpcyBhIHNlY3JldCB0b2tlbjEyMw==",
    "ipv4": "203.0.113.77",
    "ipv6": "2001:db8:85a3::8a2e:370:7334",
    "password": "hunter2secret",
}


def test_redact_removes_personal_data_and_secrets():
    text = (
        f"Hi, I'm Jane ({SECRETS['email']}), call {SECRETS['phone_intl']} or {SECRETS['phone_us']} "
        f"or {SECRETS['phone_de']}. Card {SECRETS['card']}, {SECRETS['card_dashes']}, {SECRETS['card_plain']}. "
        f"Keys: {SECRETS['sk_key']} {SECRETS['ant_key']} {SECRETS['github']} {SECRETS['aws']} "
        f"token {SECRETS['hex']} and {SECRETS['b64']}; server {SECRETS['ipv4']} / {SECRETS['ipv6']}; "
        f"password={SECRETS['password']}"
    )
    for out in (redact(text), redact_series(pd.Series([text]))[0]):
        for name, secret in SECRETS.items():
            assert secret not in out, name
        for fragment in ("4111", "0134", "Ab3dEf9h", "ZZyyXX", "hunter2", "203.0", "85a3", "jane.doe"):
            assert fragment not in out
        assert "<email>" in out and "<phone>" in out and "<card>" in out and "<secret>" in out and "<ip>" in out
        assert not re.search(r"\d", out)
        assert out.startswith("Hi, I'm Jane")  # case kept
        assert len(out) <= 200


def test_redact_masks_slots_keeps_case_and_truncates():
    assert redact('Solve Problem 12: "what is love" at https://x.io/?q=1') == "Solve Problem <num>: <quote> at <url>"
    long = "Word " * 100
    out = redact(long)
    assert len(out) == 200 and out.endswith("…")
    assert redact("x" * 195 + " <email> tail " + "y" * 50).endswith("…")
    assert "<ema…" not in redact("a" * 196 + " jo@example.com")
    assert redact(None) == "" and redact_series(pd.Series([None, "Ａ 1"])).tolist() == ["", "A <num>"]


# ----------------------------------------------------------------------------- TemplateIndex


def test_assign_is_aligned_and_typed():
    index = TemplateIndex()
    prompts = pd.Series(["Solve 1+1 step by step", None, "Solve 2+9 step by step", "hello"], index=[30, 10, 20, 40])
    out = index.assign(prompts)
    assert list(out.columns) == ["template_id", "extraction_tags"]
    assert out.index.tolist() == [30, 10, 20, 40]
    assert out.loc[30, "template_id"] == out.loc[20, "template_id"] != out.loc[40, "template_id"]
    assert out.loc[30, "extraction_tags"] == "cot_elicitation" and out.loc[40, "extraction_tags"] == ""
    assert out["template_id"].dtype == "str" and out["extraction_tags"].dtype == "str"
    empty = index.assign(pd.Series([], dtype="str"))
    assert empty.empty and list(empty.columns) == ["template_id", "extraction_tags"]


def test_table_counts_add_up_across_chunks():
    index = TemplateIndex()
    chunks = [
        pd.Series([f"Problem {i} of 100: compute {i * 3} step by step" for i in range(5)] + ["hi there"]),
        pd.Series([f"Problem {i} of 100: compute {i + 7} step by step" for i in range(7)]),
        pd.Series(["hi there", "Rate this answer on a scale of 1 to 10: 'meh'", "Rate this answer on a scale of 1 to 10: 'ok'"]),
    ]
    assigned = [index.assign(c) for c in chunks]
    table = index.table()
    assert list(table.columns) == TEMPLATE_COLUMNS
    assert table["prompt_count"].dtype == np.int64
    assert table["prompt_count"].sum() == sum(len(c) for c in chunks) == index.prompt_count
    assert table["prompt_count"].tolist() == [12, 2, 2]
    assert table.iloc[0]["exemplar"] == "Problem <num> of <num>: compute <num> step by step"
    assert table.iloc[0]["extraction_tags"] == "capability_sweep;cot_elicitation"
    counts = pd.concat(assigned)["template_id"].value_counts()
    assert counts.to_dict() == dict(zip(table["template_id"], table["prompt_count"]))
    # sorted by count desc then id
    assert table[["prompt_count", "template_id"]].equals(
        table.sort_values(["prompt_count", "template_id"], ascending=[False, True])[["prompt_count", "template_id"]]
    )
    resumed = TemplateIndex.from_table(table)
    pd.testing.assert_frame_equal(resumed.table(), table)


def test_template_tags_are_the_union_over_its_prompts():
    index = TemplateIndex()
    index.assign(pd.Series(['Answer "what is 2+2"']))
    out = index.assign(pd.Series(['Answer "explain your reasoning"']))  # trigger inside a slot
    assert out["extraction_tags"][0] == "cot_elicitation"
    assert index.table()["extraction_tags"].tolist() == ["cot_elicitation"]


def test_exemplar_is_the_first_prompt_redacted_and_table_holds_no_raw_text():
    index = TemplateIndex()
    raw = [
        "Email bob.smith@acme.com the invoice 88231 for Customer 7",
        "Email eve@evil.org the invoice 1 for Customer 99",
    ]
    index.assign(pd.Series(raw))
    table = index.table()
    assert table["exemplar"].tolist() == ["Email <email> the invoice <num> for Customer <num>"]
    cells = " ".join(map(str, table.drop(columns="signature").to_numpy().ravel()))
    assert all(r not in cells for r in raw)
    assert "bob.smith" not in cells and "eve@" not in cells


# ----------------------------------------------------------------------------- properties


@given(any_text)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_normalise_is_idempotent(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    folded = fold_text(text)
    assert fold_text(folded) == folded


@given(st.lists(any_text, max_size=12))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vectorised_normalise_matches_scalar_and_is_idempotent(texts):
    out = normalise_prompts(pd.Series(texts, dtype=object))
    assert out.tolist() == [normalise_text(t) for t in texts]
    assert normalise_prompts(out).tolist() == out.tolist()


surrogate_text = st.lists(st.sampled_from(["\ud800", "\udc00", "a", "1", " "]), max_size=6).map("".join)


@given(st.lists(st.one_of(any_text, surrogate_text, st.none()), max_size=8))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_redact_never_raises_and_vectorised_matches_scalar(texts):
    scalar = [redact(t) for t in texts]
    assert redact_series(pd.Series(texts, dtype=object)).tolist() == scalar
    assert all(len(r) <= 200 for r in scalar)
    normalise_prompts(pd.Series(texts, dtype=object))  # never raises either


slot_value = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.from_regex(r"[a-z]{1,8}@[a-z]{2,8}\.(com|org|io)", fullmatch=True),
    st.text(alphabet="abcdefgh XYZ", min_size=1, max_size=20).map(lambda t: f'"{t}"'),
    st.from_regex(r"https://[a-z]{2,10}\.com/[a-z0-9]{1,10}", fullmatch=True),
)


@given(
    template=st.sampled_from(
        ["Solve problem {} step by step.", "Score the following response: {} on a scale of 1-10",
         "请一步一步计算 {}", "Translate {} into German", "{}"]
    ),
    values=st.lists(slot_value, min_size=1, max_size=6),
)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_raw_prompt_in_table_for_prompts_with_slots(template, values):
    prompts = [template.format(v) for v in values]
    index = TemplateIndex()
    index.assign(pd.Series(prompts))
    table = index.table()
    assert table["prompt_count"].sum() == len(prompts)
    text_cells = table["exemplar"].tolist() + table["extraction_tags"].tolist()
    exemplars = table["exemplar"].tolist()
    for prompt, value in zip(prompts, values):
        assert not any(prompt in cell for cell in text_cells)
        if value.strip('" '):
            assert not any(value in exemplar for exemplar in exemplars)


def test_exemplars_never_hold_a_raw_prompt():
    """A repeated prompt with nothing to mask, and a one-off prompt, publish no exemplar;
    a real template (slots masked, sent twice) does."""
    index = TemplateIndex()
    index.assign(pd.Series([
        "Solve 12+30 and show every step", "Solve 7+5 and show every step",
        "please tell me about the history of rome", "please tell me about the history of rome",
        "my one-off question about 42 owls",
    ]))
    table = index.table().set_index("prompt_count", append=True)
    exemplars = index.table()["exemplar"].tolist()
    assert "please tell me about the history of rome" not in exemplars
    assert not any("owls" in e for e in exemplars)
    assert any(e.startswith("Solve <num>") for e in exemplars)
    assert len(table) == 3



def test_templates_a_later_chunk_bridges_become_one_in_the_table_and_the_usage(bridge_texts):
    """Y's template (sent twice) folds into X's, the earlier: one row, counts added; the run's usage names only X's
    template, one row for the account with the counts added and the times widened."""
    from graphlinker.ingest.usage import UsageBuilder
    from graphlinker.settings import Settings
    from graphlinker.templates import merge_run_templates
    from graphlinker.templates.minhash import MinHashGrouper

    x, y, m, c1, c2 = bridge_texts
    index = TemplateIndex(grouper=MinHashGrouper())
    builder = UsageBuilder(Settings.load(), index)
    when = pd.Timestamp("2026-11-01T00:00:00Z")

    def send(prompts, minutes):
        n = len(prompts)
        builder.add_requests(pd.DataFrame({
            "account_id": pd.array(["a1"] * n, dtype="str"), "ts": [when + pd.Timedelta(minutes=t) for t in minutes],
            "prompt": pd.array(prompts, dtype="str"), "ip": pd.array(["10.0.0.1"] * n, dtype="str"),
            "model": pd.array(["m"] * n, dtype="str"), "user_agent": pd.array(["sdk"] * n, dtype="str"),
            "input_tokens": 1, "output_tokens": 1}))

    send([x, y, y], [0, 1, 2])
    send([c1, m, c2], [3, 4, 5])  # all three join X's template, the earliest they reach
    before = index.table().set_index("template_id")["prompt_count"].to_dict()
    y_id, x_id = (t for t, _ in sorted(before.items(), key=lambda kv: kv[1]))
    assert sorted(before.values()) == [2, 4]
    assert merge_run_templates(index, 0, enabled=False) == {}  # [templates] merge_across_chunks = false
    assert len(index.table()) == 2
    alias = merge_run_templates(index, 0)
    assert alias == {y_id: x_id}
    builder.rename_templates(alias)
    after = index.table()
    assert after["template_id"].tolist() == [x_id] and after["prompt_count"].tolist() == [6]
    sent = builder.usage()[lambda u: u["kind"] == "template"]
    assert sent["value"].tolist() == [x_id] and sent["count"].tolist() == [6]
    assert sent["first_seen"].iloc[0] == when and sent["last_seen"].iloc[0] == when + pd.Timedelta(minutes=5)


def test_merging_two_templates_adds_counts_ors_tags_and_keeps_the_survivors_exemplar():
    index = TemplateIndex()
    index.assign(pd.Series(["Say hello to 3 friends", "Solve 1+1 step by step", "Say hello to 4 friends"]))
    table = index.table().set_index("template_id")
    hello, solve = table.index[table["prompt_count"] == 2][0], table.index[table["prompt_count"] == 1][0]
    index.merge({solve: hello, "no-such-template": hello})  # an unknown id changes nothing
    merged = index.table()
    assert merged["template_id"].tolist() == [hello] and merged["prompt_count"].tolist() == [3]
    assert merged["extraction_tags"].tolist() == ["cot_elicitation"]
    assert merged["exemplar"].tolist() == ["Say hello to <num> friends"]
    assert index.assign(pd.Series(["Say hello to 5 friends"]))["template_id"].tolist() == [hello]
