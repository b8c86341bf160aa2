"""The standard questionnaire: schema, required answers and how an answer is judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from complyflow.core.config import ConfigError
from tasks.vendors.questionnaire import Question, load_questionnaire
from tests.vendors.conftest import CONFIGS


def test_the_shipped_questionnaire_covers_the_policy_topics() -> None:
    questionnaire = load_questionnaire(CONFIGS)
    topics = {q.topic for q in questionnaire.questions}
    assert {
        "privacy law",
        "encryption",
        "retention and deletion",
        "AI training on customer data",
        "AI prompt and output retention",
        "sub-processors",
        "breach notification",
        "certifications",
    } <= topics
    ai = {q.id for q in questionnaire.questions if q.ai_specific}
    assert ai == {"trains_on_customer_data", "prompt_output_retention_days"}


@pytest.mark.parametrize(
    ("answer", "meets"), [("yes", False), ("Yes", False), ("no", True), ("N", True), ("false", True)]
)
def test_yes_no_answers(answer: str, meets: bool) -> None:
    question = Question(id="trains", text="?", topic="t", kind="yes_no", required="no")
    assert question.meets(answer) is meets


@pytest.mark.parametrize(
    ("answer", "meets"), [("72", True), ("72.0", True), ("73", False), ("0", True), ("72.5", False)]
)
def test_number_answers_are_bounded_inclusively(answer: str, meets: bool) -> None:
    question = Question(id="hours", text="?", topic="t", kind="number", max=72, unit="hours")
    assert question.meets(answer) is meets
    assert question.requirement() == "<= 72 hours"


@pytest.mark.parametrize(
    ("kind", "answer", "message"),
    [("yes_no", "maybe", "not a yes/no answer"), ("number", "72h", "not a number of hours")],
)
def test_an_answer_of_the_wrong_kind_is_an_error_not_a_verdict(kind: str, answer: str, message: str) -> None:
    question = (
        Question(id="q", text="?", topic="t", kind="yes_no", required="yes")
        if kind == "yes_no"
        else Question(id="q", text="?", topic="t", kind="number", max=72, unit="hours")
    )
    with pytest.raises(ValueError, match=message):
        question.meets(answer)


def test_applicability() -> None:
    ai = Question(id="q", text="?", topic="t", applies_to="ai", kind="yes_no", required="no")
    pd_only = Question(id="p", text="?", topic="t", applies_to="personal_data", kind="yes_no", required="yes")
    assert ai.applies(personal_data=True, uses_ai=True) and not ai.applies(personal_data=True, uses_ai=False)
    assert pd_only.applies(personal_data=True, uses_ai=False) and not pd_only.applies(personal_data=False, uses_ai=True)


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "vendor-questionnaire.yaml").write_text(text)
    return tmp_path


def test_unquoted_yaml_yes_means_the_answer_yes(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        "version: '1'\nquestions:\n- {id: a, text: '?', topic: t, kind: yes_no, "
        "required: yes}\n- {id: b, text: '?', topic: t, kind: yes_no, required: no}\n",
    )
    required = [q.required for q in load_questionnaire(folder).questions]
    assert required == ["yes", "no"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: '1'\nquestions:\n- {id: hours, text: '?', topic: t, kind: number}\n",
            r"(?s)entry 'hours'.*needs `min` and/or `max`",
        ),
        (
            "version: '1'\nquestions:\n- {id: q, text: '?', topic: t, kind: yes_no, required: yes, max: 3}\n",
            r"(?s)entry 'q'.*needs `required: yes\|no` and no min/max",
        ),
        (
            "version: '1'\nquestions:\n- {id: q, text: '?', topic: t, kind: yes_no, required: yes, colour: red}\n",
            r"(?s)entry 'q'.*field colour",
        ),
        (
            "version: '1'\nquestions:\n- {id: q, text: '?', topic: t, kind: yes_no, required: yes}\n"
            "- {id: q, text: '?', topic: t, kind: yes_no, required: no}\n",
            "duplicate question id",
        ),
        ("version: '1'\nquestions: []\n", "field questions"),
    ],
)
def test_a_bad_questionnaire_names_file_entry_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        load_questionnaire(_write(tmp_path, text))
    assert "vendor-questionnaire.yaml" in str(error.value)
