"""deploy/: the Compose file, the Kubernetes manifests and the image, checked without running them.

Neither Docker nor a Kubernetes cluster is available where the tests run: these checks are
structural. Every YAML parses; every ``NURI_…`` variable named in deploy/ is a real setting, and
the values the manifests give validate against the schema (production profile); no committed
file holds a secret; every long-running container asks for resources; the API's probes use the
routes the app serves; every image is pinned; the kustomizations name files that exist. The
production overlay is rendered with ``kubectl kustomize`` when kubectl is installed, else
assembled here from the kustomization files (resources, namespace, images, secret names).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
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

SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN|PEPPER", re.IGNORECASE)
NURI_VAR = re.compile(r"\bNURI_[A-Z0-9_]*[A-Z0-9]")
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$")  # ${VAR} or ${VAR:?message}: no default
URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s]+)@")
NOT_SETTINGS = {"NURI_CONFIG"}  # read by configs.settings.config_source, not a field
WORKLOADS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}


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


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc.get("kind") not in WORKLOADS:
        return []
    spec = doc["spec"]["template"]["spec"]
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
        c = containers(find(rendered, "Deployment", name))[0]
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
    assert find(rendered, "Deployment", "nuri-api")["spec"]["replicas"] == 3
    job = containers(find(rendered, "Job", "nuri-index-create"))[0]
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
