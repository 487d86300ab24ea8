"""평가 tab of the chat page: eval runs, their reports and comparisons, for evaluators only.

Who is an evaluator: the caller signed in to the chat with an API key whose roles include
``ui.evaluator_role`` (or ``admin``). Every event handler looks the key up again from its own
request (a revoked key loses access at once), never from state set at page load; a caller without it gets only
:data:`EVALUATOR_ONLY` and no data, whether through the page or the API endpoints.

A run holds questions, answers and cited passages: whatever its principal could read. So an
evaluator sees, opens and compares only the runs asked as their own agency at a clearance they
hold (:class:`evals.history.RunViewer`; admins see every run; operator runs, server-key runs and
runs recorded before runs named their principal are for admins only). The agency and clearance
are the signed-in key's (``caller_of``; by default looked up in the key store of ``settings``),
looked up again on every event. A run started on an evaluator's behalf asks as that caller
(:meth:`EvalsView.caller`: their key's principal, never the operator's).

An evaluator sees those runs of the history store (:class:`evals.history.History`, opened lazily
from ``settings.eval.history_url``) newest first, opens one run's ``report.html``
(:func:`evals.report.render_report`) inside the page and can download it, and compares two runs
(:func:`evals.compare.compare`, shown as its Markdown table). The report is shown in a sandboxed
``<iframe srcdoc>``: its CSS stays out of the app and nothing in it can run. The download is a
``data:`` link inside the same answer (:func:`download_link`): the report is never written to a
file that Gradio's file route or cache would serve to any signed-in user by its URL, so it only
ever reaches the caller whose request passed the check. Errors (store unreadable, run missing)
are Korean notices, never tracebacks.

The same events are API endpoints of the chat (``/eval_runs``, ``/eval_report``,
``/eval_compare``), with the same role check.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.callers import Caller, caller_from_record
from evals.compare import compare
from evals.history import History, RunNotFoundError, RunSummary, RunViewer
from evals.report import render_report
from evals.results import METRIC_BY_NAME, RunResult
from guardrails.keys import KeyStore

if TYPE_CHECKING:
    from configs.settings import Settings

log = logging.getLogger("nuri.ui.evals")

TAB_LABEL = "평가"
EVALUATOR_ONLY = "평가 결과는 평가 권한(evaluator)이 있는 사용자만 볼 수 있습니다."
NO_ACCESS_NOTICE = f"> 🔒 {EVALUATOR_ONLY}"
NO_RUNS_NOTICE = "> ℹ️ 저장된 평가 실행이 없습니다. `nuri eval run`으로 평가를 실행하면 여기에 표시됩니다."
STORE_ERROR_NOTICE = "> ⛔ **평가 기록을 읽을 수 없습니다.** 잠시 후 다시 시도하거나 관리자에게 문의해 주세요."
REPORT_ERROR_NOTICE = "> ⛔ **보고서를 만들 수 없습니다.** 관리자에게 문의해 주세요."
COMPARE_ERROR_NOTICE = "> ⛔ **두 실행을 비교할 수 없습니다.** 관리자에게 문의해 주세요."
RUN_MISSING_NOTICE = "> ⚠️ 평가 실행을 찾을 수 없습니다: `{run_id}`"
PICK_RUN_NOTICE = "> ℹ️ 열어 볼 평가 실행을 고르세요."
PICK_TWO_NOTICE = "> ℹ️ 비교할 두 실행(기준 A, 비교 대상 B)을 고르세요."
SAME_RUN_NOTICE = "> ℹ️ 서로 다른 두 실행을 고르세요."
REPORT_EMPTY = ""
DOWNLOAD_EMPTY = ""
COMPARE_EMPTY = ""

#: Most recent runs listed.
RUNS_LIMIT = 50
#: Columns of the runs table: the run's fields, then these metrics.
RUN_FIELDS = ("run_id", "suite", "started_at", "model", "commit", "items", "ran_by", "principal")
RUN_METRICS = (
    "recall@5",
    "citation_precision",
    "groundedness",
    "answer_f1",
    "refusal_rate",
    "false_refusal_rate",
    "latency_p95_ms",
)
RUN_HEADERS = [*RUN_FIELDS, *RUN_METRICS]
#: How high the report frame is in the page (the report scrolls inside it).
REPORT_HEIGHT_PX = 900


# -- who may look -------------------------------------------------------------------------------
#: The roles of a request's signed-in caller (the chat passes the API key's; none when not signed in).
RolesOf = Callable[[gr.Request | None], frozenset[str]]


def no_roles(_: gr.Request | None) -> frozenset[str]:
    return frozenset()


#: The signed-in caller of a request (agency, clearance, roles), or None.
CallerOf = Callable[[gr.Request | None], Caller | None]


def is_evaluator(request: gr.Request | None, settings: Settings, roles_of: RolesOf = no_roles) -> bool:
    """Whether this request's signed-in caller holds ``ui.evaluator_role`` (admins hold every role)."""
    role = settings.ui.evaluator_role.strip().lower()
    roles = roles_of(request)
    return bool(role) and (role in roles or "admin" in roles)


# -- formatting ---------------------------------------------------------------------------------
def format_metric(name: str, value: float | None) -> str:
    """A metric in the runs table: shares as 0.000, milliseconds as integers, null as —."""
    if value is None:
        return "—"
    spec = METRIC_BY_NAME.get(name)
    if (spec is not None and spec.unit == "ms") or name.endswith("_ms"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def runs_rows(runs: list[RunSummary]) -> list[list[str]]:
    """The runs table's rows, in the order given (the store lists newest first)."""
    return [
        [
            r.run_id,
            r.suite,
            r.started_at,
            r.model,
            r.commit,
            str(r.items),
            r.ran_by,
            r.principal.label(),
            *(format_metric(m, r.metrics.get(m)) for m in RUN_METRICS),
        ]
        for r in runs
    ]


def run_choices(runs: list[RunSummary]) -> list[tuple[str, str]]:
    """(label, run_id) for the dropdowns."""
    return [(f"{r.run_id} · {r.suite} · {r.started_at}", r.run_id) for r in runs]


def report_frame(report: str) -> str:
    """The report inside a sandboxed iframe (no script, no same-origin access; its CSS stays inside)."""
    return (
        f'<iframe title="평가 보고서 (evaluation report)" sandbox="" srcdoc="{html.escape(report, quote=True)}" '
        f'style="width:100%;height:{REPORT_HEIGHT_PX}px;border:1px solid #d0d7de;border-radius:6px;background:#fff">'
        "</iframe>"
    )


def download_link(run_id: str, page: str) -> str:
    """The report as a ``data:`` download link: its bytes travel only in the answer to the request
    that passed the check (no file, no URL another signed-in user could fetch)."""
    data = base64.b64encode(page.encode("utf-8")).decode("ascii")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)[:100]
    return (
        f'<a class="nuri-eval-download" download="report-{name}.html" '
        f'href="data:text/html;charset=utf-8;base64,{data}">report.html 내려받기</a>'
    )


# -- what the handlers do -----------------------------------------------------------------------
class EvalsView:
    """The 평가 tab's handlers, each checking the caller's role and agency from its own request.

    ``history`` is for tests; by default the store is opened on first use with
    :meth:`History.from_settings` (and opened again on the next call if that failed).
    ``caller_of`` gives a request's signed-in caller; by default the key the session signed in
    with (its user name, the key id) is looked up in the key store of ``settings``."""

    def __init__(
        self,
        settings: Settings,
        history: History | None = None,
        roles_of: RolesOf = no_roles,
        caller_of: CallerOf | None = None,
    ) -> None:
        self.settings = settings
        self.roles_of = roles_of
        self.caller_of = caller_of or self._key_caller
        self._history = history
        self._keys: KeyStore | None = None
        self._lock = threading.Lock()

    def history(self) -> History:
        with self._lock:
            if self._history is None:
                self._history = History.from_settings(self.settings)
            return self._history

    def _key_caller(self, request: gr.Request | None) -> Caller | None:
        """The active key this request's session signed in with, from the key store of ``settings``."""
        key_id = getattr(request, "username", None) if request is not None else None
        if not key_id:
            return None
        with self._lock:
            if self._keys is None:
                s = self.settings
                self._keys = KeyStore.from_settings(s.keys, s.resolve(s.data_dir), s.home)
            keys = self._keys
        record = keys.get(key_id)
        return caller_from_record(record) if record is not None and record.active else None

    def caller(self, request: gr.Request | None) -> Caller | None:
        """The signed-in evaluator of this request, or None: who a run started from the tab asks as
        (their key's agency and clearance; a key is never the operator)."""
        if not is_evaluator(request, self.settings, self.roles_of):
            return None
        try:
            who = self.caller_of(request)
        except Exception:
            log.exception("signed-in caller could not be looked up")
            return None
        if who is None or who.principal.operator:
            return None
        return who

    def viewer(self, request: gr.Request | None) -> RunViewer | None:
        """Which runs this request may see, or None when it may see none (not an evaluator)."""
        who = self.caller(request)
        return RunViewer.of(who) if who is not None else None

    # each returns (notice, ...) for its outputs
    def runs(self, request: gr.Request) -> tuple[str, Any, Any, Any, Any, Any]:
        """(notice, panel, runs table, run dropdown, compare A, compare B)."""
        hidden = gr.update(visible=False)
        empty_choice = gr.update(choices=[], value=None)
        viewer = self.viewer(request)
        if viewer is None:
            return NO_ACCESS_NOTICE, hidden, [], empty_choice, empty_choice, empty_choice
        shown = gr.update(visible=True)
        try:
            runs = self.history().list_runs(limit=RUNS_LIMIT, viewer=viewer)
        except Exception:
            log.exception("eval history could not be read")
            return STORE_ERROR_NOTICE, shown, [], empty_choice, empty_choice, empty_choice
        choices = run_choices(runs)
        newest = runs[0].run_id if runs else None
        previous = runs[1].run_id if len(runs) > 1 else newest
        return (
            "" if runs else NO_RUNS_NOTICE,
            shown,
            runs_rows(runs),
            gr.update(choices=choices, value=None),
            gr.update(choices=choices, value=previous),
            gr.update(choices=choices, value=newest),
        )

    def report(self, run_id: str | None, request: gr.Request) -> tuple[str, str, str]:
        """(notice, report frame, download link) for one run the caller may see."""
        viewer = self.viewer(request)
        if viewer is None:
            return NO_ACCESS_NOTICE, REPORT_EMPTY, DOWNLOAD_EMPTY
        if not run_id:
            return PICK_RUN_NOTICE, REPORT_EMPTY, DOWNLOAD_EMPTY
        result = self._get(run_id, viewer)
        if isinstance(result, str):
            return result, REPORT_EMPTY, DOWNLOAD_EMPTY
        try:
            page = render_report(result)
        except Exception:
            log.exception("eval report failed", extra={"run_id": run_id})
            return REPORT_ERROR_NOTICE, REPORT_EMPTY, DOWNLOAD_EMPTY
        return "", report_frame(page), download_link(result.run_id, page)

    def compare(self, run_a: str | None, run_b: str | None, request: gr.Request) -> tuple[str, str]:
        """(notice, comparison markdown) of run A (baseline) against run B."""
        viewer = self.viewer(request)
        if viewer is None:
            return NO_ACCESS_NOTICE, COMPARE_EMPTY
        if not run_a or not run_b:
            return PICK_TWO_NOTICE, COMPARE_EMPTY
        if run_a == run_b:
            return SAME_RUN_NOTICE, COMPARE_EMPTY
        a = self._get(run_a, viewer)
        if isinstance(a, str):
            return a, COMPARE_EMPTY
        b = self._get(run_b, viewer)
        if isinstance(b, str):
            return b, COMPARE_EMPTY
        try:
            comparison = compare(
                a, b, n_boot=self.settings.eval.bootstrap_samples, confidence=self.settings.eval.confidence
            )
            return "", comparison.markdown()
        except Exception:
            log.exception("eval comparison failed", extra={"run_a": run_a, "run_b": run_b})
            return COMPARE_ERROR_NOTICE, COMPARE_EMPTY

    def _get(self, run_id: str, viewer: RunViewer) -> RunResult | str:
        """The run, if ``viewer`` may see it, or the notice that says why not (a run of another
        agency is "not found", as a run that does not exist)."""
        try:
            return self.history().get(run_id, viewer=viewer)
        except RunNotFoundError:
            return RUN_MISSING_NOTICE.format(run_id=run_id.replace("`", "'"))
        except Exception:
            log.exception("eval history could not be read", extra={"run_id": run_id})
            return STORE_ERROR_NOTICE


# -- the tab ------------------------------------------------------------------------------------
def _run_picker(label: str, scale: int, elem_id: str) -> gr.Dropdown:
    """A run chooser that also takes typed text (a run id, a unique prefix, `latest`)."""
    return gr.Dropdown(
        choices=[],
        value=None,
        label=label,
        scale=scale,
        interactive=True,
        allow_custom_value=True,
        elem_id=elem_id,
    )


def build_evals_tab(
    blocks: gr.Blocks,
    settings: Settings,
    view: EvalsView | None = None,
    roles_of: RolesOf = no_roles,
    caller_of: CallerOf | None = None,
) -> EvalsView:
    """The 평가 tab's content, built inside the current ``gr.Tab`` of ``blocks``; returns its handlers."""
    view = view or EvalsView(settings, roles_of=roles_of, caller_of=caller_of)
    notice = gr.Markdown("", elem_classes=["nuri-notice"], elem_id="nuri-eval-notice")
    with gr.Column(visible=False, elem_id="nuri-eval-panel") as panel:
        with gr.Row():
            gr.Markdown("### 평가 실행 (eval runs)\n최근 실행부터 표시합니다.")
            refresh = gr.Button("새로고침", variant="secondary", size="sm", scale=0, elem_id="nuri-eval-refresh")
        table = gr.Dataframe(
            value=[],
            headers=RUN_HEADERS,
            datatype="str",
            interactive=False,
            wrap=False,
            max_height=360,
            label="실행 목록",
            elem_id="nuri-eval-runs",
        )

        # The dropdowns take any text (a run id, a unique prefix, `latest`): the handlers look it up
        # and check the role themselves, so an API caller gets the Korean notice, not a choices error.
        gr.Markdown("### 보고서 (report)")
        with gr.Row(equal_height=True):
            run = _run_picker("실행", 4, "nuri-eval-run")
            open_btn = gr.Button("보고서 열기", variant="primary", scale=1, elem_id="nuri-eval-open")
            # a data: link in the answer itself, never a file on Gradio's file route (see the module docstring)
            download = gr.HTML(DOWNLOAD_EMPTY, scale=1, elem_id="nuri-eval-download")
        report = gr.HTML(REPORT_EMPTY, js_on_load=None, elem_id="nuri-eval-report")

        gr.Markdown("### 두 실행 비교 (compare)\nB − A: 부트스트랩 신뢰구간으로 의미 있는 변화인지 판정합니다.")
        with gr.Row(equal_height=True):
            run_a = _run_picker("A (기준 / baseline)", 2, "nuri-eval-a")
            run_b = _run_picker("B (비교 대상 / candidate)", 2, "nuri-eval-b")
            compare_btn = gr.Button("비교", variant="primary", scale=1, elem_id="nuri-eval-compare")
        comparison = gr.Markdown(COMPARE_EMPTY, elem_id="nuri-eval-comparison")

        from ui.draft_review_panel import build_draft_review_panel  # the drafts → suite review

        build_draft_review_panel(blocks, settings, view.caller)

    runs_outputs = [notice, panel, table, run, run_a, run_b]
    refresh.click(
        view.runs,
        outputs=runs_outputs,
        api_name="eval_runs",
        api_description="평가 실행 목록 (evaluator 권한, 같은 기관의 실행만): (알림, 패널, 실행 표, 실행 선택, A, B).",
    )
    open_btn.click(
        view.report,
        inputs=[run],
        outputs=[notice, report, download],
        api_name="eval_report",
        api_description="한 실행의 보고서 (evaluator 권한, 같은 기관의 실행만): (알림, 보고서 HTML, report.html 내려받기 링크).",
    )
    run.input(view.report, inputs=[run], outputs=[notice, report, download], api_visibility="private")
    compare_btn.click(
        view.compare,
        inputs=[run_a, run_b],
        outputs=[notice, comparison],
        api_name="eval_compare",
        api_description="두 실행 비교 (evaluator 권한, 같은 기관의 실행만): (알림, 비교 표 Markdown).",
    )
    blocks.load(view.runs, outputs=runs_outputs, api_visibility="private")
    return view
