"""Checks prometheus-kubernetes.yml with promtool, even where promtool lacks Kubernetes discovery.

Debian's promtool (package `prometheus`) is built without Kubernetes service discovery, so it
rejects any `kubernetes_sd_configs` as an unknown field. When that is the only complaint, this
script checks the discovery blocks itself (role, namespace, the keep rules Sonrisa relies on) and
has promtool check everything else: the same file with each `kubernetes_sd_configs` swapped for
an empty `static_configs`, next to the real rules/ folder so `rule_files` resolve and are checked
too. With a promtool that knows Kubernetes discovery, promtool alone decides.

    python3 deploy/monitoring/tests/check_prometheus_kubernetes.py      (needs PyYAML)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent.parent  # deploy/monitoring
CONFIG = HERE / "prometheus-kubernetes.yml"
NO_K8S_SD = "field kubernetes_sd_configs not found"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own files, given to promtool
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, check=False
    )


def check_discovery(config: dict) -> list[str]:
    """What is wrong with the Kubernetes discovery of the `sonrisa` job, if anything."""
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    job = jobs.get("sonrisa")
    if job is None:
        return ['no scrape job named `sonrisa` (the alert rules select job="sonrisa")']
    problems = []
    sds = job.get("kubernetes_sd_configs") or []
    if len(sds) != 1 or sds[0].get("role") != "pod":
        problems.append("job `sonrisa` needs exactly one kubernetes_sd_configs with role: pod")
    elif sds[0].get("namespaces", {}).get("names") != ["sonrisa"]:
        problems.append("discovery must be limited to namespace `sonrisa` (namespaces.names)")
    keeps = {
        (tuple(rule.get("source_labels", [])), rule.get("regex"))
        for rule in job.get("relabel_configs", [])
        if rule.get("action") == "keep"
    }
    wanted = {
        (("__meta_kubernetes_pod_label_app_kubernetes_io_part_of",), "sonrisa"),
        (("__meta_kubernetes_pod_container_port_name",), "metrics"),
    }
    for labels, regex in sorted(wanted - keeps):
        problems.append(f"missing relabel rule: keep {labels[0]} =~ {regex}")
    for other in config.get("scrape_configs", []):
        for sd in other.get("kubernetes_sd_configs") or []:
            unknown = set(sd) - {
                "role",
                "namespaces",
                "selectors",
                "api_server",
                "kubeconfig_file",
                "attach_metadata",
                "tls_config",
                "authorization",
                "follow_redirects",
            }
            if unknown:
                problems.append(
                    f"job {other['job_name']}: unknown discovery keys {sorted(unknown)}"
                )
            if sd.get("role") not in {
                "pod",
                "service",
                "endpoints",
                "endpointslice",
                "node",
                "ingress",
            }:
                problems.append(f"job {other['job_name']}: unknown role {sd.get('role')!r}")
    return problems


def main() -> int:
    first = promtool_check(CONFIG)
    output = first.stdout + first.stderr
    config = yaml.safe_load(CONFIG.read_text())
    problems = check_discovery(config)
    if first.returncode == 0:
        print(output.strip())
    elif NO_K8S_SD in output:
        print(f"promtool has no Kubernetes discovery; checking {CONFIG.name} without it")
        for job in config.get("scrape_configs", []):
            if job.pop("kubernetes_sd_configs", None) is not None:
                job["static_configs"] = [{"targets": []}]
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "rules").symlink_to(HERE / "rules")
            copy = Path(tmp) / CONFIG.name
            copy.write_text(yaml.safe_dump(config, sort_keys=False))
            second = promtool_check(copy)
        print((second.stdout + second.stderr).strip())
        if second.returncode != 0:
            return 1
    else:
        print(output.strip())
        return 1
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    print(
        "SUCCESS: Kubernetes discovery of job `sonrisa` (role pod, namespace sonrisa, keep rules)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
