"""Monitoring: how Prometheus finds the pods (ServiceMonitor or PodMonitor), the rules
(rules.py) and the Grafana dashboard (dashboard.py) of one release."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..spec import RenderSpec
from ..versions import VllmVersion
from .dashboard import dashboard
from .identity import Identity
from .pod import PodTemplate
from .rules import RuleGroup, rules
from .scaling import Scaling
from .values import Workload


@dataclass(frozen=True)
class Monitoring:
    kind: str  # servicemonitor | podmonitor
    labels: dict[str, str]  # the monitor's and rules' labels: kube-prometheus-stack selects on `release`
    scrape_interval: str
    rule_groups: list[RuleGroup]
    dashboard_key: str  # the ConfigMap key holding the dashboard JSON
    dashboard_json: str
    prometheus_namespace: str  # the NetworkPolicy lets it scrape


def build(spec: RenderSpec, v: VllmVersion, identity: Identity, pod: PodTemplate, scaling: Scaling,
          workload: Workload) -> Monitoring:
    return Monitoring(
        kind=spec.monitor, labels=dict(identity.labels, release=spec.prometheus_release), scrape_interval="15s",
        rule_groups=rules(spec, v, identity, pod, scaling, workload), dashboard_key=f"{identity.release}.json",
        dashboard_json=json.dumps(dashboard(spec, v, identity, scaling, workload), indent=1, sort_keys=False, ensure_ascii=True),
        prometheus_namespace=spec.prometheus_namespace,
    )
