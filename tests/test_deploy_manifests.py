"""deploy/: the Compose file, the Kubernetes manifests and the image, checked without running them.

Neither Docker nor a Kubernetes cluster is available where the tests run: these checks are
structural. Every YAML parses; every ``NURI_…`` variable named in deploy/ is a real setting, and
the values the manifests give validate against the schema (production profile); no committed
file holds a secret; every long-running container asks for resources; the API's probes use the
routes the app serves; every image is pinned; the kustomizations name files that exist; every
manifest validates against Kubernetes' own schemas (kubernetes-validate, strict, offline) and
every pod meets the namespace's `restricted` Pod Security level; the network policies allow
exactly the flows the system needs (evaluated here, pod by pod and port by port). The
production overlay is rendered with ``kubectl kustomize`` when kubectl is installed, else
assembled here from the kustomization files (resources, namespace, images, secret names).

The operations scripts of deploy/scripts/ (run by the Jobs, shipped in the image) are run here:
the model copy on folders in tmp_path, the readiness wait and the Qdrant snapshot client against
small HTTP servers started by the tests that record every request (no Qdrant server runs here).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from pydantic import BaseModel

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose" / ".env.example"
K8S = DEPLOY / "k8s"
OVERLAY = K8S / "overlays" / "production"
SCRIPTS = DEPLOY / "scripts"
NGINX_CONF = DEPLOY / "compose" / "nginx.conf"
K8S_VERSION = "1.32.0"  # the Kubernetes release the manifests are validated against (kubectl here: v1.32)

SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN|PEPPER", re.IGNORECASE)
NURI_VAR = re.compile(r"\bNURI_[A-Z0-9_]*[A-Z0-9]")
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$")  # ${VAR} or ${VAR:?message}: no default
URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s]+)@")
NOT_SETTINGS = {"NURI_CONFIG"}  # read by configs.settings.config_source, not a field
WORKLOADS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob"}


def deploy_files(*suffixes: str) -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.name.endswith(suffixes))


def yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def k8s_files() -> list[Path]:
    return [p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"]


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of an env file (comments and blank lines skipped)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


# -- the production overlay, rendered -------------------------------------------------------------


def _assemble(folder: Path) -> list[dict[str, Any]]:
    """What `kustomize build` yields, for what these tests look at: the resources (recursively),
    the namespace, the image overrides and the generated Secrets' names (without hash)."""
    kz = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    docs: list[dict[str, Any]] = []
    for entry in kz.get("resources", []):
        path = folder / entry
        docs += _assemble(path) if path.is_dir() else yaml_docs(path)
    for gen in kz.get("secretGenerator", []):
        docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": gen["name"]}})
    images = {i["name"]: i for i in kz.get("images", [])}
    for doc in docs:
        if kz.get("namespace") and doc["kind"] != "Namespace":
            doc.setdefault("metadata", {})["namespace"] = kz["namespace"]
        for c in containers(doc):
            name, _, tag = c["image"].partition(":")
            if name in images:
                c["image"] = f"{images[name].get('newName', name)}:{images[name].get('newTag', tag)}"
    return docs


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The production overlay with its secret files filled from the committed examples (dummy
    values), by `kubectl kustomize` when kubectl is installed."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root)
    for example in (root / "overlays" / "production" / "secrets").glob("*.env.example"):
        values = {key: "dummy" for key in env_file(example)}
        example.with_suffix("").write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    overlay = root / "overlays" / "production"
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    return _assemble(overlay)


def pod_template(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload (a CronJob's through its jobTemplate)."""
    spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    return dict(spec["template"])


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc.get("kind") not in WORKLOADS:
        return []
    spec = pod_template(doc)["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    assert found, f"{kind}/{name} missing"
    return found[0]


# -- parsing and names --------------------------------------------------------------------------


def test_every_yaml_in_deploy_parses() -> None:
    files = deploy_files(".yaml", ".yml")
    assert len(files) >= 10
    for path in files:
        docs = yaml_docs(path)
        assert docs, f"{path}: empty"
        for doc in docs:
            assert isinstance(doc, dict), f"{path}: a document is not a mapping"


def _setting_exists(var: str) -> bool:
    from configs.settings import Settings

    model: type[BaseModel] = Settings
    parts = var.removeprefix("NURI_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i < len(parts) - 1:
            sub = field.annotation
            if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
                return False
            model = sub
    return True


def test_every_nuri_variable_named_in_deploy_is_a_setting() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix != ".whl"]
    named: dict[str, set[str]] = {}
    for path in files:
        for var in NURI_VAR.findall(path.read_text(encoding="utf-8")):
            named.setdefault(var, set()).add(str(path.relative_to(DEPLOY)))
    assert "NURI_INDEX__SHARD_NUMBER" in named and "NURI_KEYS__URL" in named
    assert "NURI_EVAL__HISTORY_URL" in named
    unknown = {v: sorted(f) for v, f in named.items() if v not in NOT_SETTINGS and not _setting_exists(v)}
    assert not unknown, f"not settings: {unknown}"
    assert not _setting_exists("NURI_INDEX__NO_SUCH_FIELD")  # the walk can say no


def _compose_value(value: str) -> str:
    """A Compose value with ${VAR:?…} as a placeholder and ${VAR:-default} as its default."""
    value = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z0-9_]+(:\?[^}]*)?\}", "placeholder", value)


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_the_manifests_values_validate_against_the_production_profile(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from configs.settings import load_settings

    if source == "compose":
        env = {k: _compose_value(str(v)) for k, v in compose()["x-nuri"]["environment"].items()}
    else:
        config = yaml_docs(K8S / "base" / "nuri-config.yaml")[0]
        env = dict(config["data"])
        env |= {k: "placeholder" for k in env_file(OVERLAY / "secrets" / "nuri.env.example")}
        env["NURI_KEYS__URL"] = "postgresql+psycopg://nuri:placeholder@pg:5432/nuri_keys"
    for key in [k for k in os.environ if k.startswith("NURI_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = load_settings()
    assert s.profile == "production" and s.index.backend == "qdrant"
    assert s.llm.base_urls and all(u.startswith("http://vllm-answer:8000") for u in s.llm.base_urls)
    assert (s.index.shard_number, s.index.replication_factor, s.index.write_consistency_factor) == (6, 2, 1)
    assert s.keys.url.startswith("postgresql+psycopg://")
    if source == "compose":
        assert s.audit.url.startswith("postgresql+psycopg://") and s.eval.history_url.startswith("postgresql")
        assert s.index.url == "http://qdrant-0:6333"
    else:
        assert s.index.url == "http://qdrant:6333"
        assert s.llm.model == "exaone-3.5-7.8b"


# -- secrets --------------------------------------------------------------------------------------


def _env_pairs() -> list[tuple[str, str, str]]:
    """(where, name, value) of every environment variable the committed files set."""
    pairs = []
    for path in [ENV_EXAMPLE, *(OVERLAY / "secrets").glob("*.env.example")]:
        pairs += [(str(path), k, v) for k, v in env_file(path).items()]
    for name, svc in compose().items():
        if not isinstance(svc, dict):
            continue
        for sname, service in [(name, svc)] if name.startswith("x-") else svc.items():
            if isinstance(service, dict) and isinstance(service.get("environment"), dict):
                pairs += [(f"compose {sname}", k, str(v)) for k, v in service["environment"].items()]
    for path in k8s_files():
        for doc in yaml_docs(path):
            if doc.get("kind") == "ConfigMap":
                pairs += [(f"{path} ConfigMap", k, str(v)) for k, v in doc.get("data", {}).items()]
            for c in containers(doc):
                for e in c.get("env", []):
                    if "value" in e:
                        pairs.append((f"{path} {c['name']}", e["name"], str(e["value"])))
    return pairs


def test_no_committed_file_holds_a_secret() -> None:
    pairs = _env_pairs()
    assert any(name == "POSTGRES_PASSWORD" for _, name, _ in pairs)
    for where, name, value in pairs:
        if SECRET_NAME.search(name):
            assert value == "" or REFERENCE.match(value), f"{where}: {name} has a literal value"
            assert "ConfigMap" not in where, f"{where}: the secret {name} belongs in a Secret"
        for password in URL_PASSWORD.findall(value):
            assert REFERENCE.match(password), f"{where}: {name} has a password in its URL"
    for path in deploy_files(".yaml", ".yml"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\$\{[A-Z0-9_]*(PASSWORD|SECRET|API_KEY|TOKEN|PEPPER)[A-Z0-9_]*:-", text), (
            f"{path}: a default for a secret"
        )
        for doc in yaml_docs(path):
            assert doc.get("kind") != "Secret", f"{path}: a committed Secret"


def test_secret_files_are_ignored_and_their_examples_committed() -> None:
    ignored = [
        line.strip() for line in (DEPLOY / ".gitignore").read_text().splitlines() if line and not line.startswith("#")
    ]

    def is_ignored(relative: str) -> bool:
        return any(fnmatch.fnmatch(relative, pattern) for pattern in ignored)

    assert is_ignored("compose/.env") and not is_ignored("compose/.env.example")
    assert is_ignored("compose/tls/nuri.key") and is_ignored("compose/tls/nuri.crt")
    kz = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    for gen in kz["secretGenerator"]:
        for env in gen.get("envs", []):
            relative = str((OVERLAY / env).relative_to(DEPLOY))
            assert is_ignored(relative), f"{relative} would be committed"
            assert (OVERLAY / f"{env}.example").is_file(), f"no example for {env}"
            assert not (OVERLAY / env).exists() or is_ignored(relative)
        assert not gen.get("literals"), "secret literals in a committed kustomization"
    # Every variable compose requires is in .env.example, to be filled in.
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text()))
    assert required <= set(env_file(ENV_EXAMPLE)), required - set(env_file(ENV_EXAMPLE))


def test_every_secret_key_the_pods_read_is_in_its_example(rendered: list[dict[str, Any]]) -> None:
    examples = {p.name.removesuffix(".env.example"): env_file(p) for p in (OVERLAY / "secrets").glob("*.env.example")}
    for doc in rendered:
        for c in containers(doc):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = re.sub(r"-secrets(-[a-z0-9]+)?$", "", ref["name"])
                    assert ref["key"] in examples[secret], f"{ref['key']} not in secrets/{secret}.env.example"


# -- workloads ------------------------------------------------------------------------------------


def test_every_container_asks_for_resources(rendered: list[dict[str, Any]]) -> None:
    workloads = [d for d in rendered if d["kind"] in WORKLOADS]
    assert {d["metadata"]["name"] for d in workloads} >= {
        "nuri-api",
        "nuri-index-create",
        "qdrant",
        "vllm-answer",
        "vllm-embed",
    }
    for doc in [*workloads, *yaml_docs(K8S / "examples" / "postgres.yaml")]:
        for c in containers(doc):
            requests = c.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= set(requests), f"{doc['metadata']['name']}/{c['name']}: no requests"
            assert c.get("resources", {}).get("limits", {}).get("memory"), f"{c['name']}: no memory limit"
    for name in ("vllm-answer", "vllm-embed"):
        c = pod_template(find(rendered, "Deployment", name))["spec"]["containers"][0]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert c["readinessProbe"]["httpGet"]["path"] == "/health"
        assert "--served-model-name" in " ".join(c["args"])
    for name, service in compose()["services"].items():
        if service.get("restart") != "no":  # every long-running service (the one-shot job aside)
            assert service.get("deploy", {}).get("resources", {}).get("reservations"), f"compose {name}: none"


def test_the_api_probes_are_routes_the_app_serves(rendered: list[dict[str, Any]]) -> None:
    from assistant.http.routes.health import router

    served = {getattr(r, "path", None) for r in router.routes}
    assert {"/healthz", "/readyz"} <= served
    api = containers(find(rendered, "Deployment", "nuri-api"))[0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["startupProbe"]["httpGet"]["path"] in served
    assert api["securityContext"]["allowPrivilegeEscalation"] is False
    pod = find(rendered, "Deployment", "nuri-api")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert {r["configMapRef"]["name"] for r in api["envFrom"] if "configMapRef" in r} == {"nuri-config"}
    assert any(r.get("secretRef", {}).get("name", "").startswith("nuri-secrets") for r in api["envFrom"])
    assert find(rendered, "PodDisruptionBudget", "nuri-api") and find(rendered, "HorizontalPodAutoscaler", "nuri-api")
    job = pod_template(find(rendered, "Job", "nuri-index-create"))["spec"]["containers"][0]
    assert job["args"] == ["index", "create"]
    # Compose and the image probe the same routes.
    services = compose()["services"]
    assert "/readyz" in " ".join(services["nuri-api"]["healthcheck"]["test"])
    assert services["nuri-api"]["deploy"]["replicas"] == 2
    assert services["nuri-index-create"]["command"] == ["index", "create"]
    assert "/healthz" in (DEPLOY / "Dockerfile").read_text()


def test_qdrant_runs_as_a_three_node_cluster(rendered: list[dict[str, Any]]) -> None:
    sts = find(rendered, "StatefulSet", "qdrant")
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == "qdrant-headless"
    c = containers(sts)[0]
    assert {"name": "QDRANT__CLUSTER__ENABLED", "value": "true"} in c["env"]
    assert "--bootstrap" in c["args"][0]
    assert sts["spec"]["volumeClaimTemplates"]
    assert find(rendered, "Service", "qdrant-headless")["spec"]["clusterIP"] == "None"
    x = compose()["x-qdrant"]
    assert x["environment"]["QDRANT__CLUSTER__ENABLED"] == "true"
    assert [s for s in compose()["services"] if s.startswith("qdrant-")] == ["qdrant-0", "qdrant-1", "qdrant-2"]


def test_every_image_is_pinned(rendered: list[dict[str, Any]]) -> None:
    images = [c["image"] for d in rendered for c in containers(d)]
    images += [s["image"] for s in compose()["services"].values() if "image" in s]
    images += [compose()[k]["image"] for k in ("x-qdrant", "x-vllm", "x-nuri")]
    images += [c["image"] for path in k8s_files() for d in yaml_docs(path) for c in containers(d)]  # as committed
    assert len(images) >= 10
    for image in images:
        image = _compose_value(image)
        name, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
        assert name and tag and tag != "latest" and re.search(r"\d", tag), f"unpinned image: {image}"
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", (DEPLOY / "Dockerfile").read_text(), re.M)


def test_kustomizations_name_files_that_exist() -> None:
    kzs = list(K8S.rglob("kustomization.yaml"))
    assert len(kzs) == 2
    for kz_path in kzs:
        kz = yaml.safe_load(kz_path.read_text())
        for entry in kz.get("resources", []):
            path = kz_path.parent / entry
            assert path.is_file() or (path / "kustomization.yaml").is_file(), f"{kz_path}: {entry} missing"
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    listed = {str(r) for r in base["resources"]}
    on_disk = {p.name for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == on_disk, "a base manifest is not listed in base/kustomization.yaml (or the reverse)"


def test_the_dockerfile_runs_nuri_serve_as_a_non_root_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER nuri$", text, re.M)
    assert 'ENTRYPOINT ["nuri"]' in text and 'CMD ["serve"]' in text
    assert "pip install ." in text and "HEALTHCHECK" in text
    assert "HF_HUB_OFFLINE=1" in text


# -- schemas and Pod Security -----------------------------------------------------------------------


def _all_k8s_docs(rendered: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(where, document): the rendered production overlay and every committed manifest as written
    (base, overlay, examples)."""
    docs = [("rendered production overlay", d) for d in rendered]
    for path in sorted(k8s_files()):
        docs += [(str(path.relative_to(DEPLOY)), d) for d in yaml_docs(path)]
    return docs


def test_every_manifest_validates_against_the_kubernetes_schema(rendered: list[dict[str, Any]]) -> None:
    """kubernetes-validate ships Kubernetes' OpenAPI schemas inside the package: offline, strict
    (an unknown or misplaced field is an error), for K8S_VERSION."""
    import kubernetes_validate

    docs = _all_k8s_docs(rendered)
    kinds = {d["kind"] for _, d in docs}
    assert {"Deployment", "StatefulSet", "Job", "CronJob", "NetworkPolicy", "Ingress", "PersistentVolume"} <= kinds
    errors = []
    for where, doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{where} {doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}")
    assert not errors, "\n".join(errors)
    # Strict mode really rejects what the API server would: a field in the wrong place.
    broken = json.loads(json.dumps(find(rendered, "Deployment", "nuri-api")))
    broken["spec"]["template"]["spec"]["containers"][0]["preStop"] = {"exec": {"command": ["sleep", "5"]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def test_every_pod_meets_the_restricted_pod_security_level(rendered: list[dict[str, Any]]) -> None:
    """The namespace enforces `restricted`: a pod that breaks it is rejected at admission (the
    Job or Deployment then shows no pods at all). The checks of that level, on every pod."""
    assert yaml_docs(OVERLAY / "namespace.yaml")[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )
    pods = [d for _, d in _all_k8s_docs(rendered) if d["kind"] in WORKLOADS]
    assert len(pods) >= 10
    for doc in pods:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        spec = pod_template(doc)["spec"]
        pod_sc = spec.get("securityContext", {})
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), name
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            assert kinds <= RESTRICTED_VOLUMES, f"{name}: volume {volume['name']} is {kinds}"
        for c in containers(doc):
            sc = c.get("securityContext", {})
            where = f"{name}/{c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), where
            assert set(sc.get("capabilities", {}).get("add", [])) <= {"NET_BIND_SERVICE"}, where
            assert not sc.get("privileged"), where
            assert (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")) is True, where
            assert sc.get("runAsUser", pod_sc.get("runAsUser")) != 0, where
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
            assert seccomp in ("RuntimeDefault", "Localhost"), where
            assert not any(p.get("hostPort") for p in c.get("ports", [])), where


# -- 1. a user and a home for non-root containers -------------------------------------------------


def test_vllm_and_api_containers_have_a_user_and_a_writable_home(rendered: list[dict[str, Any]]) -> None:
    """uid 10001 has no passwd entry in the vLLM image: torch's getpass.getuser() raises unless
    USER/LOGNAME are set, and HOME must be a writable volume (caches)."""
    for kind, name in [("Deployment", "vllm-answer"), ("Deployment", "vllm-embed"), ("Deployment", "nuri-api")]:
        doc = find(rendered, kind, name)
        spec = pod_template(doc)["spec"]
        main = spec["containers"][0]
        env = {e["name"]: e.get("value") for e in main.get("env", [])}
        assert env.get("USER") and env.get("LOGNAME") == env["USER"], f"{name}: USER/LOGNAME"
        home = env.get("HOME")
        mounts = {m["mountPath"]: m["name"] for m in main.get("volumeMounts", [])}
        assert home in mounts, f"{name}: HOME {home} is not a mounted volume"
        volume = next(v for v in spec["volumes"] if v["name"] == mounts[home])
        assert "emptyDir" in volume, f"{name}: HOME is not an emptyDir"
        assert not any(m["mountPath"] == home and m.get("readOnly") for m in main["volumeMounts"])


# -- 2. the HPA owns the API's replica count ------------------------------------------------------


def test_the_hpa_alone_sets_the_api_replica_count(rendered: list[dict[str, Any]]) -> None:
    deployment = find(rendered, "Deployment", "nuri-api")
    assert "replicas" not in deployment["spec"], "replicas on the Deployment fights the HPA on every apply"
    hpa = find(rendered, "HorizontalPodAutoscaler", "nuri-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nuri-api"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    pdb = find(rendered, "PodDisruptionBudget", "nuri-api")
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "the PDB would block every drain"
    assert re.search(r"No `replicas`: the HorizontalPodAutoscaler", (K8S / "base" / "nuri-api.yaml").read_text())


# -- 3. graceful shutdown -----------------------------------------------------------------------


def test_graceful_shutdown_fits_the_termination_grace_period(rendered: list[dict[str, Any]]) -> None:
    """preStop sleep + api.shutdown_grace_s + 10 s margin <= terminationGracePeriodSeconds, from
    the manifests' own values (and the same for Compose's stop_grace_period)."""
    grace = float(find(rendered, "ConfigMap", "nuri-config")["data"]["NURI_API__SHUTDOWN_GRACE_S"])
    assert grace == 45
    spec = pod_template(find(rendered, "Deployment", "nuri-api"))["spec"]
    pre_stop = spec["containers"][0]["lifecycle"]["preStop"]
    if "sleep" in pre_stop:  # the `sleep` lifecycle action (Kubernetes >= 1.30)
        sleep = float(pre_stop["sleep"]["seconds"])
    else:
        command = pre_stop["exec"]["command"]
        assert command[0] in ("sleep", "/bin/sleep") and len(command) == 2, command
        sleep = float(command[1])
    assert sleep >= 5
    assert spec["terminationGracePeriodSeconds"] >= sleep + grace + 10
    services = compose()["services"]
    assert float(compose()["x-nuri"]["environment"]["NURI_API__SHUTDOWN_GRACE_S"]) == grace
    stop = services["nuri-api"]["stop_grace_period"]
    assert stop.endswith("s") and float(stop[:-1]) >= grace + 10


# -- 4. filling the models volume -----------------------------------------------------------------


def _mounts_of_claim(doc: dict[str, Any], claim: str) -> list[dict[str, Any]]:
    spec = pod_template(doc)["spec"]
    names = {v["name"] for v in spec.get("volumes", []) if v.get("persistentVolumeClaim", {}).get("claimName") == claim}
    return [m for c in containers(doc) for m in c.get("volumeMounts", []) if m["name"] in names]


def test_the_models_volume_is_filled_by_a_job_and_read_only_elsewhere(rendered: list[dict[str, Any]]) -> None:
    pvc = find(rendered, "PersistentVolumeClaim", "nuri-models")
    assert set(pvc["spec"]["accessModes"]) & {"ReadWriteMany", "ReadWriteOnce"}, "nothing can write the models"
    job = find(rendered, "Job", "nuri-models-fill")
    writes = _mounts_of_claim(job, "nuri-models")
    assert writes and not any(m.get("readOnly") for m in writes)
    source = _mounts_of_claim(job, "nuri-models-source")
    assert source and all(m.get("readOnly") for m in source)
    fill = containers(job)[0]
    assert fill["command"] == ["/bin/sh", "/opt/nuri/scripts/models_fill.sh"]
    env = {e["name"]: e["value"] for e in fill["env"]}
    assert {m["mountPath"] for m in writes} == {env["MODELS_DIR"]}
    assert {m["mountPath"] for m in source} == {env["SOURCE_DIR"]}
    for doc in rendered:
        if doc["kind"] in WORKLOADS and doc["metadata"]["name"] != "nuri-models-fill":
            for m in _mounts_of_claim(doc, "nuri-models"):
                assert m.get("readOnly"), f"{doc['metadata']['name']} mounts the models read-write"
    # vLLM waits for its model folder instead of crash-looping until the Job is done.
    for name in ("vllm-answer", "vllm-embed"):
        doc = find(rendered, "Deployment", name)
        model = pod_template(doc)["spec"]["containers"][0]["args"][0]
        init = pod_template(doc)["spec"]["initContainers"][0]
        assert f"{model}/config.json" in " ".join(init["args"])
    source_example = {d["kind"]: d for d in yaml_docs(K8S / "examples" / "models-source.yaml")}
    assert source_example["PersistentVolumeClaim"]["metadata"]["name"] == "nuri-models-source"


def test_every_script_a_manifest_runs_is_in_deploy_scripts_and_in_the_image(rendered: list[dict[str, Any]]) -> None:
    named = set()
    for _, doc in _all_k8s_docs(rendered):
        for c in containers(doc):
            for word in [*c.get("command", []), *c.get("args", [])]:
                named |= set(re.findall(r"/opt/nuri/scripts/([\w.]+)", str(word)))
    assert named == {"models_fill.sh", "wait_ready.py", "qdrant_snapshot.py"}
    for script in named:
        assert (SCRIPTS / script).is_file(), script
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^COPY deploy/scripts/ /opt/nuri/scripts/$", dockerfile, re.M)
    assert "!deploy/scripts/" in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()


def _fill(source: Path, models: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "SOURCE_DIR": str(source), "MODELS_DIR": str(models)}
    return subprocess.run(
        ["sh", str(SCRIPTS / "models_fill.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _model_tree(root: Path, sums: bool) -> None:
    (root / "answer").mkdir(parents=True)
    (root / "answer" / "config.json").write_text('{"model": 1}')
    (root / "answer" / "model.safetensors").write_bytes(os.urandom(4096))
    (root / "reranker").mkdir()
    (root / "reranker" / "config.json").write_text('{"model": 2}')
    (root / "lost+found").mkdir()
    if sums:
        files = sorted(p for p in root.rglob("*") if p.is_file())
        lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(root)}" for p in files]
        (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def test_models_fill_copies_verifies_and_refuses_a_mismatch(tmp_path: Path) -> None:
    source, models = tmp_path / "source", tmp_path / "models"
    _model_tree(source, sums=True)
    models.mkdir()
    first = _fill(source, models)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in models.iterdir()) == [
        "SHA256SUMS",
        "answer",
        "reranker",
    ]  # no lost+found, no .incoming
    assert (models / "answer" / "model.safetensors").read_bytes() == (
        source / "answer" / "model.safetensors"
    ).read_bytes()
    stamp = (models / "answer" / "config.json").stat().st_mtime_ns
    again = _fill(source, models)
    assert again.returncode == 0 and "nothing to copy" in again.stdout
    assert (models / "answer" / "config.json").stat().st_mtime_ns == stamp
    # A changed model with new sums replaces the old folder.
    (source / "reranker" / "config.json").write_text('{"model": 3}')
    (source / "SHA256SUMS").unlink()
    _model_tree(tmp_path / "tmp-tree", sums=False)
    files = sorted(p for p in source.rglob("*") if p.is_file())
    (source / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(source)}\n" for p in files)
    )
    update = _fill(source, models)
    assert update.returncode == 0, update.stderr
    assert (models / "reranker" / "config.json").read_text() == '{"model": 3}'
    assert not list(models.glob(".old-*")) and not (models / ".incoming").exists()
    # A copy that does not match its sums is not published.
    bad, fresh = tmp_path / "bad", tmp_path / "fresh"
    _model_tree(bad, sums=True)
    (bad / "answer" / "model.safetensors").write_bytes(b"corrupted on the way")
    fresh.mkdir()
    refused = _fill(bad, fresh)
    assert refused.returncode == 1 and "checksum mismatch" in refused.stderr
    assert list(fresh.iterdir()) == []
    # Without SHA256SUMS: copied, with a warning.
    plain, target = tmp_path / "plain", tmp_path / "target"
    _model_tree(plain, sums=False)
    target.mkdir()
    unverified = _fill(plain, target)
    assert unverified.returncode == 0 and "not verified" in unverified.stderr
    assert (target / "answer" / "config.json").is_file()


# -- a recording HTTP server for the scripts ------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What a tiny local HTTP server received, and how it answers (``reply(method, path)`` ->
    status, content type, body)."""

    reply: Callable[[str, str], tuple[int, str, bytes]]
    calls: list[Recorded] = field(default_factory=list)


@contextmanager
def recording_server(reply: Callable[[str, str], tuple[int, str, bytes]]) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(reply)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.calls.append(
                Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status, content_type, payload = recorder.reply(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()


def _script(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": os.environ["PATH"], **(env or {})}
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ok(result: Any) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps({"result": result, "status": "ok", "time": 0.001}).encode()


# -- 6. the index Job waits for Qdrant ------------------------------------------------------------


def test_the_index_job_waits_for_every_qdrant_node(rendered: list[dict[str, Any]]) -> None:
    job = find(rendered, "Job", "nuri-index-create")
    assert 1 <= job["spec"]["backoffLimit"] <= 10
    init = pod_template(job)["spec"]["initContainers"][0]
    assert init["command"][:2] == ["python", "/opt/nuri/scripts/wait_ready.py"]
    timeout = float(init["command"][init["command"].index("--timeout") + 1])
    assert 60 <= timeout <= 3600
    replicas = find(rendered, "StatefulSet", "qdrant")["spec"]["replicas"]
    expected = [f"http://qdrant-{i}.qdrant-headless:6333/readyz" for i in range(replicas)]
    assert init["args"][:replicas] == expected
    # ingest creates a missing collection too: it waits for the same nodes.
    init = pod_template(find(rendered, "Job", "nuri-ingest"))["spec"]["initContainers"][0]
    assert init["args"][:replicas] == expected


def test_wait_ready_waits_for_each_url_and_gives_up_after_its_timeout() -> None:
    answers = iter([503, 503, 200])

    def reply(method: str, path: str) -> tuple[int, str, bytes]:
        return (next(answers, 200) if path == "/readyz" else 200), "text/plain", b"ok"

    with recording_server(reply) as (url, rec):
        done = _script("wait_ready.py", "--interval", "0.05", "--timeout", "10", f"{url}/readyz", f"{url}/health")
        assert done.returncode == 0, done.stderr
        assert [(c.method, c.path) for c in rec.calls] == [("GET", "/readyz")] * 3 + [("GET", "/health")]
        assert "ready: " in done.stdout
    with recording_server(lambda m, p: (503, "text/plain", b"not ready")) as (url, rec):
        started = time.monotonic()
        gave_up = _script("wait_ready.py", "--interval", "0.05", "--timeout", "0.5", f"{url}/readyz")
        assert gave_up.returncode == 1 and "not ready after" in gave_up.stderr and "HTTP 503" in gave_up.stderr
        assert time.monotonic() - started < 20 and len(rec.calls) >= 2


# -- 5. ingest -------------------------------------------------------------------------------------


def test_ingest_runs_once_and_nightly_from_a_read_only_documents_volume(rendered: list[dict[str, Any]]) -> None:
    from assistant.cli import _parser

    job = find(rendered, "Job", "nuri-ingest")
    cron = find(rendered, "CronJob", "nuri-ingest-nightly")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod_template(job)["spec"] == pod_template(cron)["spec"], "the Job and the CronJob run the same pod"
    ingest = next(c for c in containers(job) if c["name"] == "ingest")
    script = " ".join(ingest["args"])
    assert "nuri ingest /documents --json" in script
    argv = script.split("exec nuri ", 1)[1].split()
    parsed = _parser().parse_args(argv)  # the flags exist in the CLI
    assert parsed.command == "ingest" and parsed.json and [str(p) for p in parsed.paths] == ["/documents"]
    mounts = _mounts_of_claim(job, "nuri-documents")
    assert mounts and all(m.get("readOnly") and m["mountPath"] == "/documents" for m in mounts)
    volume = next(v for v in pod_template(job)["spec"]["volumes"] if v["name"] == mounts[0]["name"])
    assert volume["persistentVolumeClaim"]["readOnly"] is True
    assert find(rendered, "PersistentVolumeClaim", "nuri-documents")


def test_every_nuri_container_that_opens_the_index_has_its_reranker_or_turns_it_off(
    rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nuri serve` and `nuri ingest` open the index, which loads the reranker (production profile:
    rerank.enabled, /opt/nuri/models/reranker): the folder must be mounted, or reranking off."""
    from configs.settings import load_settings

    config = find(rendered, "ConfigMap", "nuri-config")["data"]
    for kind, name, container in [("Deployment", "nuri-api", "nuri-api"), ("Job", "nuri-ingest", "ingest")]:
        doc = find(rendered, kind, name)
        c = next(c for c in containers(doc) if c["name"] == container)
        env = dict(config) | {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
        for key in [k for k in os.environ if k.startswith("NURI_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith("NURI_"):
                monkeypatch.setenv(key, value)
        rerank = load_settings().retrieval.rerank
        if rerank.enabled:
            mounted = [m["mountPath"] for m in c.get("volumeMounts", [])]
            assert rerank.model_path and any(rerank.model_path.startswith(f"{m}/") for m in mounted), name
        else:
            assert name == "nuri-ingest", "the API must rerank as the production profile says"


# -- 7. probes and the app's own retries ----------------------------------------------------------


def test_the_api_probes_match_the_apps_start_up_retries(rendered: list[dict[str, Any]]) -> None:
    """The app opens the index and the embedder in the background with backoff and answers
    /readyz 503 until they are there: only readiness may look at /readyz (a restart would not
    bring Qdrant up sooner); startup and liveness ask /healthz."""
    api = containers(find(rendered, "Deployment", "nuri-api"))[0]
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    text = (K8S / "base" / "nuri-api.yaml").read_text()
    comment = text[: text.index("startupProbe:")].rsplit("resources:", 1)[1]
    assert "retries" in comment and "/readyz" in comment and "503" in comment and "never restarts" in comment


# -- 8. chat streams stick to one replica ---------------------------------------------------------


def _nginx_blocks(text: str, head: str) -> dict[str, str]:
    """``head NAME { ... }`` blocks of an nginx config (no nested braces inside them)."""
    return dict(re.findall(rf"^\s*{head}\s+(\S+)\s*\{{(.*?)^\s*\}}", text, re.M | re.S))


def test_chat_streams_stick_to_one_replica(rendered: list[dict[str, Any]]) -> None:
    service = find(rendered, "Service", "nuri-api")
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    assert service["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] >= 3600
    ingress = yaml_docs(K8S / "examples" / "ingress.yaml")[0]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert ingress["spec"]["tls"][0]["secretName"]
    # ingress-nginx's admission webhook validates these annotations (internal/ingress/annotations/proxy).
    upstream_words = r"(error|timeout|invalid_header|http_50[0234]|http_40[34]|http_429|non_idempotent|off)"
    assert re.fullmatch(rf"({upstream_words}\s?)+", notes["nginx.ingress.kubernetes.io/proxy-next-upstream"])
    for key in ("proxy-read-timeout", "proxy-connect-timeout", "session-cookie-max-age"):
        assert notes[f"nginx.ingress.kubernetes.io/{key}"].isdigit(), key

    text = NGINX_CONF.read_text()
    upstreams = _nginx_blocks(text, "upstream")
    locations = _nginx_blocks(text, "location")
    ui, api = locations["/ui"], locations["/"]
    ui_upstream = re.search(r"proxy_pass http://(\w+);", ui)[1]  # type: ignore[index]
    api_upstream = re.search(r"proxy_pass http://(\w+);", api)[1]  # type: ignore[index]
    assert re.search(r"^\s*hash \$nuri_affinity consistent;", upstreams[ui_upstream], re.M)
    assert "hash " not in upstreams[api_upstream]  # the API stays round-robin
    for name in (ui_upstream, api_upstream):
        assert re.search(r"server nuri-api:8000 resolve", upstreams[name]) and "zone " in upstreams[name]
    assert re.search(r"^\s*proxy_next_upstream error timeout\b.*\bhttp_503\b", text, re.M)
    connect = re.search(r"^\s*proxy_connect_timeout (\d+)s;", text, re.M)
    assert connect and int(connect[1]) <= 5
    assert re.search(r"^\s*proxy_buffering off;", text, re.M)
    # The map's patterns, as nginx's PCRE reads them, on real Cookie headers.
    body = re.search(r"map \$http_cookie \$nuri_affinity \{(.*?)\}", text, re.S)[1]  # type: ignore[index]
    rules = re.findall(r'"~(.+?)"\s+\$(\w+);', body)
    assert [v for _, v in rules] == ["nuri_plain", "nuri_secure"] and re.search(r"default\s+\$remote_addr;", body)

    def affinity(cookie: str) -> str:
        for pattern, var in rules:
            m = re.search(pattern.replace("(?<", "(?P<"), cookie)
            if m:
                return m[var]
        return "$remote_addr"

    assert affinity("_ga=1; access-token-unsecure-nuri=abc123; theme=dark") == "abc123"
    assert affinity("access-token-nuri=s3cure") == "s3cure"
    assert affinity("x-access-token-nuri=no; a=b") == "$remote_addr"
    assert affinity("") == "$remote_addr"


# -- 9. compose: the default `up`, one GPU each, TLS ---------------------------------------------


def test_compose_default_up_starts_what_the_api_needs_with_a_gpu_each_and_tls() -> None:
    doc = compose()
    services = doc["services"]
    default = {name for name, s in services.items() if not s.get("profiles")}
    assert "vllm-embed" in default and "vllm-answer" in default
    for name in default:
        for dep, cond in (services[name].get("depends_on") or {}).items():
            if cond.get("required", True):
                assert dep in default, f"{name} needs {dep}, which `docker compose up` does not start"
    hosts = set()
    for value in doc["x-nuri"]["environment"].values():
        url = _compose_value(str(value))
        hosts |= set(re.findall(r"(?:https?|postgresql\+psycopg)://(?:[^@/\s]+@)?([a-z0-9-]+):\d+", url))
    assert hosts == {"qdrant-0", "vllm-answer", "vllm-embed", "postgres"}
    assert hosts <= default
    gpus = {}
    for name in ("vllm-answer", "vllm-embed"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and "count" not in devices[0], f"{name}: name the GPU (device_ids)"
        gpus[name] = tuple(devices[0]["device_ids"])
    assert gpus == {"vllm-answer": ("0",), "vllm-embed": ("1",)}
    # TLS at the compose nginx: certificate from a mounted folder, HTTP redirected, HSTS.
    text = NGINX_CONF.read_text()
    servers = re.split(r"^server \{", text, flags=re.M)[1:]
    tls = [s for s in servers if re.search(r"^\s*listen 443 ssl;", s, re.M)]
    plain = [s for s in servers if re.search(r"^\s*listen 80;", s, re.M)]
    assert len(tls) == 1 and len(plain) == 1
    assert re.search(r"return 301 https://\$host\$request_uri;", plain[0]) and "proxy_pass" not in plain[0]
    assert re.search(r'add_header Strict-Transport-Security "max-age=\d+.*" always;', tls[0])
    cert = re.search(r"ssl_certificate\s+(\S+);", tls[0])[1]  # type: ignore[index]
    key = re.search(r"ssl_certificate_key\s+(\S+);", tls[0])[1]  # type: ignore[index]
    lb = services["lb"]
    mounts = {}
    for volume in lb["volumes"]:  # HOST:CONTAINER[:ro], HOST possibly a ${VAR:?message}
        parts = volume.rsplit(":", 2) if volume.endswith((":ro", ":rw")) else volume.rsplit(":", 1)
        mounts[parts[1]] = parts[0]
    assert os.path.dirname(cert) == os.path.dirname(key) == "/etc/nginx/tls" and "/etc/nginx/tls" in mounts
    assert mounts["/etc/nginx/tls"] == "${TLS_DIR:?set TLS_DIR in .env}"
    assert any(p.endswith(":443") for p in lb["ports"])
    readme = (DEPLOY / "README.md").read_text()
    assert re.search(r"^## TLS", readme, re.M) and "nuri-tls" in readme and "TLS_DIR" in readme


# -- 10. network policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    name: str
    labels: tuple[tuple[str, str], ...]
    namespace: str
    namespace_labels: tuple[tuple[str, str], ...]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values", [])
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # addresses outside the cluster (the managed PostgreSQL): not a pod
    ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
    ns_ok = (
        pod.namespace == policy_namespace if ns_selector is None else _selects(ns_selector, dict(pod.namespace_labels))
    )
    return ns_ok and (pod_selector is None or _selects(pod_selector, dict(pod.labels)))


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    return not ports or any(
        p.get("protocol", "TCP") == protocol
        and (p.get("port") is None or p["port"] <= port <= p.get("endPort", p["port"]))
        for p in ports
    )


def _allows(policies: list[dict[str, Any]], direction: str, subject: Pod, peer: Pod, port: int, protocol: str) -> bool:
    """Whether the policies let ``subject`` receive from (Ingress) / send to (Egress) ``peer``."""
    key, side = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = []
    for p in policies:
        types = p["spec"].get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in p["spec"] else []))
        same_namespace = p["metadata"]["namespace"] == subject.namespace
        if same_namespace and direction in types and _selects(p["spec"]["podSelector"], dict(subject.labels)):
            selecting.append(p)
    if not selecting:
        return True  # not isolated in this direction
    return any(
        (not rule.get(side) or any(_peer_matches(x, peer, p["metadata"]["namespace"]) for x in rule[side]))
        and _port_matches(rule.get("ports"), port, protocol)
        for p in selecting
        for rule in p["spec"].get(key) or []
    )


def _flow(policies: list[dict[str, Any]], src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
    return _allows(policies, "Egress", src, dst, port, protocol) and _allows(
        policies, "Ingress", dst, src, port, protocol
    )


NUMBERED_PORTS = (5432, 6333, 6334, 6335, 8000, 8001)
EXPECTED_FLOWS = {
    ("ingress-nginx", "nuri-api", 8000),
    ("nuri-api", "qdrant", 6333),
    ("nuri-api", "vllm-answer", 8000),
    ("nuri-api", "vllm-embed", 8001),
    ("nuri-api", "postgres", 5432),
    ("nuri-index-create", "qdrant", 6333),
    ("nuri-index-create", "vllm-embed", 8001),
    ("nuri-ingest", "qdrant", 6333),
    ("nuri-ingest", "vllm-embed", 8001),
    ("qdrant-snapshot", "qdrant", 6333),
    ("qdrant", "qdrant", 6335),
    ("postgres-backup", "postgres", 5432),
    ("nuri-audit-checkpoint", "postgres", 5432),
}


def test_network_policies_allow_exactly_the_flows_the_system_needs(rendered: list[dict[str, Any]]) -> None:
    namespace = find(rendered, "Namespace", "nuri")
    ns_labels = {"kubernetes.io/metadata.name": "nuri", **namespace["metadata"].get("labels", {})}
    examples = [
        d | {"metadata": d["metadata"] | {"namespace": "nuri"}} for d in yaml_docs(K8S / "examples" / "postgres.yaml")
    ]
    docs = [*rendered, *examples]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    default_deny = [
        p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ]
    assert any(not p["spec"].get("ingress") and not p["spec"].get("egress") for p in default_deny)

    pods: dict[str, Pod] = {}
    for d in docs:
        if d["kind"] in WORKLOADS:
            labels = pod_template(d)["metadata"]["labels"]
            name = labels["app.kubernetes.io/name"]
            pods[name] = Pod(name, tuple(sorted(labels.items())), "nuri", tuple(sorted(ns_labels.items())))
    assert set(pods) >= {
        "nuri-api", "qdrant", "vllm-answer", "vllm-embed", "nuri-index-create", "nuri-ingest",
        "qdrant-snapshot", "nuri-models-fill", "postgres", "postgres-backup", "nuri-audit-checkpoint",
    }  # fmt: skip
    controller = Pod(
        "ingress-nginx",
        (("app.kubernetes.io/name", "ingress-nginx"),),
        "ingress-nginx",
        (("kubernetes.io/metadata.name", "ingress-nginx"),),
    )
    stranger = Pod("stranger", (("app", "x"),), "default", (("kubernetes.io/metadata.name", "default"),))
    dns = Pod("kube-dns", (("k8s-app", "kube-dns"),), "kube-system", (("kubernetes.io/metadata.name", "kube-system"),))
    everyone = [*pods.values(), controller, stranger]

    for src in everyone:
        for dst in pods.values():
            for port in NUMBERED_PORTS:
                want = (src.name, dst.name, port) in EXPECTED_FLOWS
                assert _flow(policies, src, dst, port) == want, f"{src.name} -> {dst.name}:{port} should be {want}"
    for pod in pods.values():  # DNS for everyone, nothing else outside the namespace
        assert _flow(policies, pod, dns, 53, "UDP") and _flow(policies, pod, dns, 53, "TCP"), pod.name
        assert not _flow(policies, pod, stranger, 443), pod.name
    # The properties the review names, spelled out.
    qdrant, postgres = pods["qdrant"], pods["postgres"]
    for src in everyone:
        if src.name != "qdrant":
            assert not _allows(policies, "Ingress", qdrant, src, 6335, "TCP"), f"{src.name} reaches qdrant p2p"
        assert _allows(policies, "Ingress", postgres, src, 5432, "TCP") == (
            src.name in {"nuri-api", "postgres-backup", "nuri-audit-checkpoint"}
        )
    # The production overlay adds the managed PostgreSQL (outside the cluster) to the egress of the
    # API and of the audit checkpoint CronJob.
    for name in ("nuri-api", "nuri-audit-checkpoint"):
        policy = find(rendered, "NetworkPolicy", name)
        assert any(
            any("ipBlock" in peer for peer in rule.get("to", []))
            and rule["ports"] == [{"protocol": "TCP", "port": 5432}]
            for rule in policy["spec"]["egress"]
        ) or not shutil.which("kubectl"), name  # the fallback assembly applies no patches


# -- 11. Qdrant snapshots and backups -------------------------------------------------------------


def test_audit_head_checkpoints_run_every_5_minutes_onto_an_append_only_volume(
    rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nuri audit checkpoint` (signed chain head, one line appended) on a schedule, to a volume
    meant to be append-only and kept apart from the database: what shows records deleted with
    the head moved back (guardrails/audit.py)."""
    import assistant.cli
    from assistant import admin_cli
    from configs.settings import load_settings

    cron = find(rendered, "CronJob", "nuri-audit-checkpoint")
    assert cron["spec"]["schedule"] == "*/5 * * * *" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["timeZone"] == "Asia/Seoul"
    c = containers(cron)[0]
    argv = [*c["command"], *c["args"]]
    assert argv[0] == "nuri"
    monkeypatch.setattr(assistant.cli, "_plugins", admin_cli.register)
    parsed = assistant.cli._parser().parse_args(argv[1:])  # the command exists in the CLI
    assert parsed.handler is admin_cli.cmd_audit_checkpoint and parsed.file is None  # the file: from the setting
    env = {e["name"]: e for e in c["env"]}
    for secret in ("NURI_AUDIT__URL", "NURI_AUDIT__CHAIN_KEY"):  # the store and the key that signs
        assert env[secret]["valueFrom"]["secretKeyRef"]["name"].startswith("nuri-secrets"), secret
    assert "envFrom" not in c, "only the audit store's secrets, not every one of nuri-secrets"
    sink = Path(env["NURI_AUDIT__CHECKPOINT_FILE"]["value"])
    mounts = _mounts_of_claim(cron, "nuri-audit-checkpoints")
    assert [m["mountPath"] for m in mounts] == [str(sink.parent)] and not mounts[0].get("readOnly")
    for doc in rendered:  # the job alone writes there; nothing else mounts the checkpoints
        if doc["kind"] in WORKLOADS and doc["metadata"]["name"] != "nuri-audit-checkpoint":
            assert not _mounts_of_claim(doc, "nuri-audit-checkpoints"), doc["metadata"]["name"]
    for key in [k for k in os.environ if k.startswith("NURI_")]:
        monkeypatch.delenv(key)
    config = find(rendered, "ConfigMap", "nuri-config")["data"]
    for name, e in env.items():
        ref = e.get("valueFrom", {}).get("configMapKeyRef")
        placeholders = {"NURI_AUDIT__URL": "postgresql+psycopg://nuri:placeholder@pg:5432/nuri_audit"}
        value = config[ref["key"]] if ref else e.get("value", placeholders.get(name, "k" * 40))
        if name.startswith("NURI_"):
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.profile == "production" and settings.audit.checkpoint_file == str(sink)
    assert "NURI_AUDIT__CHECKPOINT_FILE" not in config, "the API and `nuri audit verify` there do not mount it"
    pvc = find(rendered, "PersistentVolumeClaim", "nuri-audit-checkpoints")
    assert pvc["spec"].get("storageClassName") or not shutil.which("kubectl"), "the overlay names the WORM class"
    readme = (DEPLOY / "README.md").read_text()
    section = readme[readme.index("**The audit head checkpoints") :][:3000]
    for words in ("nuri audit checkpoint", "append-only", "WORM", "chattr +a", "backups", "truncated",
                  "--checkpoints"):  # fmt: skip
        assert words in section, words


def test_qdrant_snapshots_run_nightly_into_a_backup_volume(rendered: list[dict[str, Any]]) -> None:
    cron = find(rendered, "CronJob", "qdrant-snapshot")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    c = containers(cron)[0]
    assert c["command"] == ["python", "/opt/nuri/scripts/qdrant_snapshot.py"] and c["args"][0] == "create"
    replicas = find(rendered, "StatefulSet", "qdrant")["spec"]["replicas"]
    urls = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--url=")]
    assert urls == [f"http://qdrant-{i}.qdrant-headless:6333" for i in range(replicas)], "a snapshot is per node"
    dest = next(a.split("=", 1)[1] for a in c["args"] if a.startswith("--dest="))
    mounts = _mounts_of_claim(cron, "nuri-qdrant-backups")
    assert [m["mountPath"] for m in mounts] == [dest] and not mounts[0].get("readOnly")
    assert int(next(a.split("=", 1)[1] for a in c["args"] if a.startswith("--keep="))) >= 1
    assert {e["name"] for e in c["env"]} >= {"NURI_INDEX__API_KEY", "NURI_INDEX__COLLECTION"}
    readme = (DEPLOY / "README.md").read_text()
    backups = readme[readme.index("## Backups") :]
    assert "qdrant_snapshot.py restore" in backups and "snapshots/recover" in backups and "snapshots/upload" in backups
    assert "pg_dump" in backups and "pg_restore" in backups


def test_qdrant_snapshot_create_downloads_checks_deletes_and_keeps_the_newest(tmp_path: Path) -> None:
    content = os.urandom(50_000)
    name = "nuri-1234-2026-12-06-03-30-00.snapshot"

    def node(checksum: str) -> Callable[[str, str], tuple[int, str, bytes]]:
        def reply(method: str, path: str) -> tuple[int, str, bytes]:
            if (method, path) == ("POST", "/collections/nuri/snapshots?wait=true"):
                return _ok(
                    {"name": name, "creation_time": "2026-12-06T03:30:00", "size": len(content), "checksum": checksum}
                )
            if (method, path) == ("GET", f"/collections/nuri/snapshots/{name}"):
                return 200, "application/octet-stream", content
            if (method, path) == ("DELETE", f"/collections/nuri/snapshots/{name}?wait=true"):
                return _ok(True)
            return 404, "application/json", b'{"status": {"error": "not found"}}'

        return reply

    good = hashlib.sha256(content).hexdigest()
    dest = tmp_path / "backups"
    with recording_server(node(good)) as (url0, rec0), recording_server(node(good)) as (url1, rec1):
        old = dest / f"127.0.0.1_{url0.rsplit(':', 1)[1]}"
        old.mkdir(parents=True)
        for day in range(1, 6):  # five older snapshots of node 0
            f = old / f"nuri-1234-2026-12-0{day}-03-30-00.snapshot"
            f.write_bytes(b"old")
            os.utime(f, (1_700_000_000 + day, 1_700_000_000 + day))
        args = ["create", "--url", url0, "--url", url1, "--collection", "nuri", "--dest", str(dest), "--keep", "3"]
        done = _script("qdrant_snapshot.py", *args, env={"NURI_INDEX__API_KEY": "test-key"})
        assert done.returncode == 0, done.stderr
        for rec in (rec0, rec1):
            assert [(c.method, c.path, c.body) for c in rec.calls] == [
                ("POST", "/collections/nuri/snapshots?wait=true", b""),
                ("GET", f"/collections/nuri/snapshots/{name}", b""),
                ("DELETE", f"/collections/nuri/snapshots/{name}?wait=true", b""),
            ]
            assert all(c.headers.get("api-key") == "test-key" for c in rec.calls)
        for url in (url0, url1):
            saved = dest / f"127.0.0.1_{url.rsplit(':', 1)[1]}" / name
            assert saved.read_bytes() == content
        assert sorted(p.name for p in old.iterdir()) == [
            "nuri-1234-2026-12-04-03-30-00.snapshot",
            "nuri-1234-2026-12-05-03-30-00.snapshot",
            name,
        ]
    # A download that does not match Qdrant's checksum is not kept (and the node keeps its copy).
    with recording_server(node("0" * 64)) as (url, rec):
        bad = _script(
            "qdrant_snapshot.py", "create", "--url", url, "--collection", "nuri", "--dest", str(tmp_path / "b")
        )
        assert bad.returncode == 1 and "sha256" in bad.stderr
        assert [c.method for c in rec.calls] == ["POST", "GET"]
        assert not any((tmp_path / "b").rglob("*.snapshot*"))


def test_qdrant_snapshot_restore_sends_the_recover_and_upload_calls(tmp_path: Path) -> None:
    with recording_server(lambda m, p: _ok(True)) as (url, rec):
        location = "file:///qdrant/snapshots/nuri/nuri-1234-2026-12-06-03-30-00.snapshot"
        done = _script(
            "qdrant_snapshot.py", "restore", "--url", url, "--collection", "nuri", "--location", location,
            env={"NURI_INDEX__API_KEY": "test-key"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (call,) = rec.calls
        assert (call.method, call.path) == ("PUT", "/collections/nuri/snapshots/recover?wait=true")
        assert json.loads(call.body) == {"location": location, "priority": "snapshot"}
        assert call.headers["content-type"] == "application/json" and call.headers["api-key"] == "test-key"

    snapshot = tmp_path / "nuri-node0.snapshot"
    snapshot.write_bytes(os.urandom(300_000))
    checksum = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    with recording_server(lambda m, p: _ok(True)) as (url, rec):
        done = _script(
            "qdrant_snapshot.py", "restore", "--url", url, "--collection", "nuri", "--file", str(snapshot),
            "--checksum", checksum, env={"NURI_INDEX__API_KEY": "test-key"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (call,) = rec.calls
        assert call.method == "POST"
        assert call.path == f"/collections/nuri/snapshots/upload?wait=true&priority=snapshot&checksum={checksum}"
        boundary = call.headers["content-type"].removeprefix("multipart/form-data; boundary=")
        assert boundary != call.headers["content-type"]
        expected = (
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="snapshot"; filename="{snapshot.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + snapshot.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        assert call.body == expected and call.headers["api-key"] == "test-key"
    with recording_server(lambda m, p: (500, "application/json", b'{"status": {"error": "boom"}}')) as (url, _):
        failed = _script("qdrant_snapshot.py", "restore", "--url", url, "--collection", "nuri", "--location", "x")
        assert failed.returncode == 1 and "HTTP 500" in failed.stderr


# -- 12. admission x replicas <= what vLLM batches ------------------------------------------------


def _flag(args: list[str], name: str) -> str:
    for i, a in enumerate(args):
        if a == name:
            return args[i + 1]
        if a.startswith(f"{name}="):
            return a.split("=", 1)[1]
    raise AssertionError(f"{name} not in {args}")


def test_answer_admission_times_replicas_fits_the_vllm_batch(rendered: list[dict[str, Any]]) -> None:
    per_replica = int(find(rendered, "ConfigMap", "nuri-config")["data"]["NURI_API__ADMISSION__ANSWER_CONCURRENCY"])
    max_replicas = find(rendered, "HorizontalPodAutoscaler", "nuri-api")["spec"]["maxReplicas"]
    vllm = find(rendered, "Deployment", "vllm-answer")
    max_seqs = int(_flag(containers(vllm)[-1]["args"], "--max-num-seqs"))
    assert per_replica * max_replicas <= max_seqs, f"{per_replica} x {max_replicas} > {max_seqs}"
    # Compose: its replicas at the per-replica value it gives (else the profile's).
    profile = yaml.safe_load((REPO_ROOT / "configs" / "production.yaml").read_text())
    compose_per_replica = int(
        compose()["x-nuri"]["environment"].get(
            "NURI_API__ADMISSION__ANSWER_CONCURRENCY", profile["api"]["admission"]["answer_concurrency"]
        )
    )
    services = compose()["services"]
    compose_seqs = int(_flag(services["vllm-answer"]["command"], "--max-num-seqs"))
    assert services["nuri-api"]["deploy"]["replicas"] * compose_per_replica <= compose_seqs
    capacity = (DEPLOY / "CAPACITY.md").read_text()
    assert f"{per_replica} × {max_replicas} = {per_replica * max_replicas}" in capacity
    assert "python -m benchmarks.rerank_cpu" in capacity
    assert "50,000 × 2–4 KB × 30" in capacity and "0.5 GB" not in capacity


def test_the_rerank_benchmark_behind_capacity_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/rerank_cpu.py (CAPACITY.md's reranker figures) end to end on a tiny stand-in:
    it writes the random-weight model, reranks through Nuri's Reranker and reports CPU seconds."""
    from benchmarks import rerank_cpu

    tiny = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    monkeypatch.setitem(rerank_cpu.ARCHS, "tiny", tiny)
    monkeypatch.setattr(rerank_cpu, "VOCAB_SIZE", 3000)
    out = tmp_path / "rerank.json"
    assert rerank_cpu.main(["--arch", "tiny", "--passage-tokens", "8,24", "--rounds", "2", "--json-out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["pair_tokens"] for r in report["results"]] == [8 + 19, 24 + 19]
    assert all(r["cpu_s_per_rerank_mean"] > 0 and r["wall_ms"]["n"] == 2 for r in report["results"])
    query, hits = rerank_cpu.workload(24, seed=0)
    assert len(query.split()) == rerank_cpu.QUERY_TOKENS and len(hits) == rerank_cpu.CANDIDATES


# -- the embedder fit file reaches the API where the profile reads it ---------------------------------


def test_the_api_mounts_the_embedder_fit_file_where_the_production_profile_reads_it(
    rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from configs.settings import load_settings

    monkeypatch.setenv("NURI_PROFILE", "production")
    monkeypatch.delenv("NURI_CONFIG", raising=False)
    fit_dir = str(Path(load_settings().calibration.path or "").parent)
    api = find(rendered, "Deployment", "nuri-api")
    mount = next(m for m in containers(api)[0]["volumeMounts"] if m["mountPath"] == fit_dir)
    volume = next(v for v in pod_template(api)["spec"]["volumes"] if v["name"] == mount["name"])
    # optional: without the ConfigMap the pod starts and runs in safe mode (README: Production)
    assert volume["configMap"] == {"name": "nuri-embedder-fit", "optional": True} and mount["readOnly"]
    x_nuri = compose()["x-nuri"]
    assert f"./calibration:{fit_dir}:ro" in x_nuri["volumes"]
