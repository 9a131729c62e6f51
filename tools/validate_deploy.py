"""Offline checks of deploy/kubernetes (run by scripts/validate-deploy, which installs the one
package it needs, kubernetes-validate, from PyPI into a virtualenv).

- kustomization.yaml lists exactly the manifests of its directory, and matches its schema;
- every document matches its kind's schema: Kubernetes' own kinds through kubernetes-validate
  (strict: unknown keys fail), for each Kubernetes version in VERSIONS; the custom resources
  (KEDA, Prometheus Operator) through our schemas in tools/kubernetes-schemas; a kind with no
  schema fails;
- the manifests agree with each other: selectors select the worker's pods, named ports exist, the
  ScaledObject scales the Deployment, every Secret and ConfigMap referenced (unless optional)
  is defined, and the migration Job reads no secret but the database's.

Exit status 1 with every problem listed, else 0.
"""

import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "deploy" / "kubernetes"
SCHEMAS = ROOT / "tools" / "kubernetes-schemas"
VERSIONS = ["1.30.0", "1.37.0"]
CUSTOM = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda.sh-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda.sh-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring.coreos.com-v1.json",
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): "kustomization-kustomize.config.k8s.io-v1beta1.json",
}
# The only Secret the migration Job may read: the database password (README, "Deploying").
MIGRATION_SECRETS = {"erasure-database"}

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def custom_schema(api_version, kind):
    name = CUSTOM.get((api_version, kind))
    return json.loads((SCHEMAS / name).read_text()) if name else None


def check_schema(where, doc):
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    schema = custom_schema(api_version, kind)
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in error.absolute_path)
            problem(where, f"{kind} {path or '(root)'}: {error.message}")
        return
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problem(where, f"no schema for {kind} ({api_version}) in Kubernetes {version} nor in {SCHEMAS.name}")
            return
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(p) for p in error.path)
            problem(where, f"{kind} {path or '(root)'} (Kubernetes {version}): {error.message}")


def load_documents(path):
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def selects(selector, labels):
    match = (selector or {}).get("matchLabels", selector or {})
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def check_kustomization():
    path = MANIFESTS / "kustomization.yaml"
    kustomization = load_documents(path)[0]
    check_schema(path.name, kustomization)
    listed = kustomization.get("resources", [])
    present = sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")
    for name in sorted(set(present) - set(listed)):
        problem("kustomization.yaml", f"{name} is in the directory but not in resources")
    for name in sorted(set(listed) - set(present)):
        problem("kustomization.yaml", f"resources lists {name}, which is not in the directory")
    return listed


def check_references(docs):
    by_kind = {}
    for where, doc in docs:
        by_kind.setdefault(doc["kind"], []).append((where, doc))
    names = {kind: {d["metadata"]["name"] for _, d in entries} for kind, entries in by_kind.items()}
    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 1:
        problem("manifests", f"expected one Deployment, found {len(deployments)}")
        return
    where, deployment = deployments[0]
    spec = deployment["spec"]
    pod_labels = spec["template"]["metadata"].get("labels", {})
    if not selects(spec["selector"], pod_labels):
        problem(where, "the selector does not select the pod template's labels")
    containers = spec["template"]["spec"]["containers"]
    port_names = {p.get("name") for c in containers for p in c.get("ports", [])}
    for c in containers:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe not in c:
                problem(where, f"container {c['name']} has no {probe}")
                continue
            port = c[probe].get("httpGet", {}).get("port")
            if isinstance(port, str) and port not in port_names:
                problem(where, f"{probe} names port {port}, which the container does not declare")

    service_ports = set()
    for w, service in by_kind.get("Service", []):
        if not selects(service["spec"].get("selector"), pod_labels):
            problem(w, "the Service does not select the worker's pods")
        for port in service["spec"]["ports"]:
            service_ports.add(port.get("name"))
            target = port.get("targetPort")
            if isinstance(target, str) and target not in port_names:
                problem(w, f"targetPort {target} is not a container port of the worker")
    for w, pdb in by_kind.get("PodDisruptionBudget", []):
        if not selects(pdb["spec"].get("selector"), pod_labels):
            problem(w, "the PodDisruptionBudget does not select the worker's pods")
        if pdb["spec"].get("minAvailable", 0) >= spec.get("replicas", 1) and "maxUnavailable" not in pdb["spec"]:
            problem(w, "minAvailable leaves no pod to evict at the Deployment's replicas")
    service_labels = [s["metadata"].get("labels", {}) for _, s in by_kind.get("Service", [])]
    for w, monitor in by_kind.get("ServiceMonitor", []):
        if not any(selects(monitor["spec"]["selector"], labels) for labels in service_labels):
            problem(w, "the ServiceMonitor selects no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            if endpoint.get("port") not in service_ports:
                problem(w, f"endpoint port {endpoint.get('port')} is not a Service port")
    for w, scaled in by_kind.get("ScaledObject", []):
        target = scaled["spec"]["scaleTargetRef"]
        if target.get("kind", "Deployment") != "Deployment" or target["name"] != deployment["metadata"]["name"]:
            problem(w, "scaleTargetRef does not name the worker's Deployment")
        spec_s = scaled["spec"]
        if spec_s.get("minReplicaCount", 0) > spec_s.get("maxReplicaCount", 100):
            problem(w, "minReplicaCount is above maxReplicaCount")
        for trigger in spec_s["triggers"]:
            ref = trigger.get("authenticationRef", {}).get("name")
            if ref and ref not in names.get("TriggerAuthentication", set()):
                problem(w, f"trigger {trigger['type']} names TriggerAuthentication {ref}, which is not defined")
    for w, auth in by_kind.get("TriggerAuthentication", []):
        for ref in auth["spec"].get("secretTargetRef", []):
            if ref["name"] not in names.get("Secret", set()):
                problem(w, f"Secret {ref['name']} is not defined")

    def pod_references(where, pod_spec):
        """Secrets and ConfigMaps a pod reads (optional ones aside)."""
        secrets, configmaps = set(), set()
        for c in pod_spec.get("containers", []):
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    secrets.add(source["secretRef"]["name"])
                if "configMapRef" in source:
                    configmaps.add(source["configMapRef"]["name"])
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    secrets.add(ref["secretKeyRef"]["name"])
                if "configMapKeyRef" in ref:
                    configmaps.add(ref["configMapKeyRef"]["name"])
        for volume in pod_spec.get("volumes", []):
            if "secret" in volume and not volume["secret"].get("optional"):
                secrets.add(volume["secret"]["secretName"])
            if "configMap" in volume and not volume["configMap"].get("optional"):
                configmaps.add(volume["configMap"]["name"])
        for name in sorted(secrets - names.get("Secret", set())):
            problem(where, f"Secret {name} is read but not defined")
        for name in sorted(configmaps - names.get("ConfigMap", set())):
            problem(where, f"ConfigMap {name} is read but not defined")
        account = pod_spec.get("serviceAccountName")
        if account and account not in names.get("ServiceAccount", set()):
            problem(where, f"ServiceAccount {account} is not defined")
        return secrets

    pod_references(where, spec["template"]["spec"])
    jobs = by_kind.get("Job", [])
    if not jobs:
        problem("manifests", "no migration Job")
    for w, job in jobs:
        pod = job["spec"]["template"]["spec"]
        read = pod_references(w, pod)
        if read - MIGRATION_SECRETS:
            problem(w, f"the migration Job reads {sorted(read - MIGRATION_SECRETS)}: only the database's secret")
        args = [a for c in pod["containers"] for a in c.get("args", [])]
        if "migrate" not in args:
            problem(w, "the Job does not run `erasure migrate`")


def main():
    listed = check_kustomization()
    docs = []
    for name in listed:
        path = MANIFESTS / name
        if not path.exists():
            continue
        for doc in load_documents(path):
            check_schema(name, doc)
            docs.append((name, doc))
    check_references(docs)
    for line in problems:
        print(f"validate-deploy: {line}", file=sys.stderr)
    if problems:
        print(f"validate-deploy: {len(problems)} problem(s) in deploy/kubernetes", file=sys.stderr)
        return 1
    kinds = sorted({d['kind'] for _, d in docs})
    print(f"validate-deploy: {len(docs)} documents in {len(listed)} files valid "
          f"(Kubernetes {', '.join(VERSIONS)}; {', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
