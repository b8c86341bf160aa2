"""The standard vendor questionnaire (`configs/vendor-questionnaire.yaml`) and how an answer meets it.

Each question carries the answer the policy requires: `yes`/`no`, or a bound on a number (hours to
notify a breach, days prompts are kept). Whether an answer meets it is a recorded fact; GX decides the
verdict from that fact, so a policy change is a change to this file, never to code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from complyflow.core.config import ConfigError, parse_model, read_yaml

QUESTIONNAIRE_FILE = "vendor-questionnaire.yaml"
YES = ("yes", "y", "true")
NO = ("no", "n", "false")
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


class Question(BaseModel):
    """One standard question and the answer the policy requires."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    #: all vendors, vendors processing personal data, or vendors using or providing AI
    applies_to: Literal["all", "personal_data", "ai"] = "all"
    kind: Literal["yes_no", "number"]
    required: Literal["yes", "no"] | None = None  # yes_no questions
    min: float | None = None  # number questions: inclusive bounds
    max: float | None = None
    unit: str = ""

    @field_validator("required", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: object) -> object:
        """YAML reads an unquoted `yes`/`no` as a boolean; the policy author meant the answer."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return value

    @model_validator(mode="after")
    def _requirement_matches_kind(self) -> Question:
        if self.kind == "yes_no" and (self.required is None or self.min is not None or self.max is not None):
            raise ValueError("a yes_no question needs `required: yes|no` and no min/max")
        if self.kind == "number" and (self.required is not None or (self.min is None and self.max is None)):
            raise ValueError("a number question needs `min` and/or `max` and no `required`")
        return self

    @property
    def ai_specific(self) -> bool:
        return self.applies_to == "ai"

    def requirement(self) -> str:
        """The required answer in words, recorded next to the answer in the evidence."""
        if self.kind == "yes_no":
            return str(self.required)
        unit = f" {self.unit}" if self.unit else ""
        parts = [f">= {_num(self.min)}{unit}"] if self.min is not None else []
        parts += [f"<= {_num(self.max)}{unit}"] if self.max is not None else []
        return " and ".join(parts)

    def applies(self, *, personal_data: bool, uses_ai: bool) -> bool:
        return (
            self.applies_to == "all"
            or (self.applies_to == "personal_data" and personal_data)
            or (self.applies_to == "ai" and uses_ai)
        )

    def meets(self, answer: str) -> bool:
        """Whether `answer` gives what the policy requires; ValueError when it is not an answer of this kind."""
        text = answer.strip().casefold()
        if self.kind == "yes_no":
            if text in YES:
                return self.required == "yes"
            if text in NO:
                return self.required == "no"
            raise ValueError(f"{answer!r} is not a yes/no answer")
        if not NUMBER.fullmatch(text):
            raise ValueError(f"{answer!r} is not a number{f' of {self.unit}' if self.unit else ''}")
        value = float(text)
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


def _num(value: float | None) -> str:
    return str(int(value)) if value is not None and value == int(value) else str(value)


class QuestionnaireFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)


@dataclass(frozen=True)
class Questionnaire:
    version: str
    questions: tuple[Question, ...]

    @property
    def ids(self) -> set[str]:
        return {q.id for q in self.questions}


def load_questionnaire(config_dir: Path) -> Questionnaire:
    path = config_dir / QUESTIONNAIRE_FILE
    data = read_yaml(path)
    if isinstance(data, dict):
        for index, raw in enumerate(data.get("questions") or []):
            name = raw.get("id") if isinstance(raw, dict) else None
            parse_model(Question, raw, path, str(name or f"questions[{index}]"))
    parsed = parse_model(QuestionnaireFile, data, path)
    ids = [q.id for q in parsed.questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{path}: duplicate question id(s): {', '.join(duplicates)}")
    return Questionnaire(version=parsed.version, questions=tuple(parsed.questions))
