"""Health rules per kind, after Argo CD's gitops-engine `pkg/health` (one module per kind),
and for the custom resources of common operators, after their documented status fields.

`rule_for(group, kind)` finds the rule for a built-in kind; kinds without one fall back
to `conditions.conditions_health`, and objects with no conventional status are Healthy.
"""

from __future__ import annotations

from reconciler.engine.health.rules.apiservice import apiservice_health
from reconciler.engine.health.rules.application import application_health
from reconciler.engine.health.rules.certmanager import certificate_health, issuer_health
from reconciler.engine.health.rules.crd import crd_health
from reconciler.engine.health.rules.cronjob import cronjob_health
from reconciler.engine.health.rules.daemonset import daemonset_health
from reconciler.engine.health.rules.deployment import deployment_health
from reconciler.engine.health.rules.externalsecrets import externalsecret_health, secretstore_health
from reconciler.engine.health.rules.hpa import hpa_health
from reconciler.engine.health.rules.job import job_health
from reconciler.engine.health.rules.loadbalancer import ingress_health, service_health
from reconciler.engine.health.rules.model import Rule
from reconciler.engine.health.rules.namespace import namespace_health
from reconciler.engine.health.rules.pod import pod_health
from reconciler.engine.health.rules.pvc import pvc_health
from reconciler.engine.health.rules.replicaset import replicaset_health
from reconciler.engine.health.rules.rollout import rollout_health
from reconciler.engine.health.rules.sealedsecret import sealedsecret_health
from reconciler.engine.health.rules.statefulset import statefulset_health

# Keyed by API group and kind, not version: a kind keeps its status shape across versions.
# `extensions` holds the pre-1.16 Deployment/DaemonSet/ReplicaSet/Ingress.
RULES: dict[tuple[str, str], Rule] = {
    ("apps", "Deployment"): deployment_health,
    ("extensions", "Deployment"): deployment_health,
    ("apps", "StatefulSet"): statefulset_health,
    ("apps", "DaemonSet"): daemonset_health,
    ("extensions", "DaemonSet"): daemonset_health,
    ("apps", "ReplicaSet"): replicaset_health,
    ("extensions", "ReplicaSet"): replicaset_health,
    ("", "Pod"): pod_health,
    ("", "Service"): service_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("", "Namespace"): namespace_health,
    ("batch", "Job"): job_health,
    ("batch", "CronJob"): cronjob_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("extensions", "Ingress"): ingress_health,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa_health,
    ("apiregistration.k8s.io", "APIService"): apiservice_health,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd_health,
    # Custom resources of the operators the seed's setup installs.
    ("bitnami.com", "SealedSecret"): sealedsecret_health,
    ("external-secrets.io", "ExternalSecret"): externalsecret_health,
    ("external-secrets.io", "SecretStore"): secretstore_health,
    ("external-secrets.io", "ClusterSecretStore"): secretstore_health,
    ("cert-manager.io", "Certificate"): certificate_health,
    ("cert-manager.io", "Issuer"): issuer_health,
    ("cert-manager.io", "ClusterIssuer"): issuer_health,
    ("argoproj.io", "Rollout"): rollout_health,
    ("argoproj.io", "Application"): application_health,
}


def rule_for(group: str, kind: str) -> Rule | None:
    return RULES.get((group, kind))
