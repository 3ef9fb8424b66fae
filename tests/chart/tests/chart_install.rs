//! The chart against a real kube-apiserver and etcd (`larum-kube-harness`): both values
//! files apply with `kubectl apply --dry-run=server` (CRDs first) without Pod Security
//! warnings in a namespace that enforces the restricted standard; `helm install`
//! creates the expected objects; `helm upgrade` keeps the gossip key; `helm uninstall`
//! removes what it made.

#![allow(clippy::unwrap_used)]

use larum_chart_tests::kube::{
    apply_crds, apply_monitoring_crd_stubs, helm_install, kubectl_full, restricted_namespace,
};
use larum_chart_tests::{NAMESPACE, RELEASE, everything_on, helm_ok, template};
use larum_kube_harness::Cluster;
use serde_json::Value;

fn get(cluster: &Cluster, kind: &str, name: &str, ns: &str) -> Value {
    let out = cluster
        .kubectl(&["get", kind, name, "-n", ns, "-o", "json"])
        .unwrap_or_else(|e| panic!("{kind}/{name} in {ns}: {e}"));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn chart_applies_to_a_real_api_server_and_installs_the_expected_objects() {
    let cluster = Cluster::start().unwrap();
    restricted_namespace(&cluster, NAMESPACE);
    restricted_namespace(&cluster, "platform");
    apply_crds(&cluster);
    apply_monitoring_crd_stubs(&cluster);

    // 1. Both values files pass the API server's validation and admission.
    for (label, values) in [
        ("default", vec![]),
        ("everything-on", vec![everything_on()]),
    ] {
        let refs: Vec<&std::path::Path> = values.iter().map(|p| p.as_path()).collect();
        let manifests = template(&refs, &[]);
        let (ok, stdout, stderr) = kubectl_full(
            &cluster,
            &["apply", "--dry-run=server", "-n", NAMESPACE, "-f", "-"],
            &manifests,
        );
        assert!(ok, "{label}: {stderr}");
        assert!(
            !stderr.contains("PodSecurity"),
            "{label}: restricted Pod Security warnings: {stderr}"
        );
        assert!(
            stdout.contains("statefulset.apps/larum-engine created (server dry run)"),
            "{label}: {stdout}"
        );
        assert!(
            stdout.contains("deployment.apps/larum-operator created (server dry run)"),
            "{label}: {stdout}"
        );
        if label == "everything-on" {
            for want in [
                "servicemonitor.monitoring.coreos.com/larum-engine",
                "prometheusrule.monitoring.coreos.com/larum",
                "networkpolicy.networking.k8s.io/larum-engine",
                "ingress.networking.k8s.io/larum-engine",
            ] {
                assert!(stdout.contains(want), "{label}: no {want} in {stdout}");
            }
        }
    }

    // 2. helm install creates the objects.
    helm_install(&cluster, RELEASE, NAMESPACE, &[]);
    let sts = get(&cluster, "statefulset", "larum-engine", NAMESPACE);
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
    let headless = get(&cluster, "service", "larum-engine-cluster", NAMESPACE);
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    let ports: Vec<(String, i64)> = headless["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap().to_string(),
                p["port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(ports.contains(&("UDP".to_string(), 9094)), "{ports:?}");
    let client = get(&cluster, "service", "larum-engine", NAMESPACE);
    assert_eq!(client["spec"]["ports"][0]["port"], 9093);
    let pdb = get(&cluster, "poddisruptionbudget", "larum-engine", NAMESPACE);
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    let op = get(&cluster, "deployment", "larum-operator", NAMESPACE);
    assert_eq!(op["spec"]["replicas"], 2);
    get(&cluster, "serviceaccount", "larum-engine", NAMESPACE);
    get(&cluster, "serviceaccount", "larum-operator", NAMESPACE);
    get(&cluster, "role", "larum-engine", NAMESPACE);
    get(&cluster, "clusterrole", "larum-operator", "");
    get(&cluster, "service", "larum-operator", NAMESPACE);
    let key = get(&cluster, "secret", "larum-cluster-key", NAMESPACE)["data"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.len() >= 64, "a generated key: {key}");

    // 3. An upgrade keeps the gossip key (a new one would split the cluster).
    helm_install(
        &cluster,
        RELEASE,
        NAMESPACE,
        &["--set", "alertmanager.alertmanagerSpec.replicas=5"],
    );
    let sts = get(&cluster, "statefulset", "larum-engine", NAMESPACE);
    assert_eq!(sts["spec"]["replicas"], 5);
    let args = sts["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains("larum-engine-4.larum-engine-cluster"),
        "{args}"
    );
    let after = get(&cluster, "secret", "larum-cluster-key", NAMESPACE)["data"]["key"].clone();
    assert_eq!(after, key, "helm upgrade changed the cluster key");

    // 4. A second release with everything on, in another namespace, installs beside it.
    let values = everything_on().display().to_string();
    helm_install(&cluster, "full", "platform", &["-f", &values]);
    get(&cluster, "ingress", "full-larum-engine", "platform");
    get(&cluster, "networkpolicy", "full-larum-engine", "platform");
    get(
        &cluster,
        "servicemonitor",
        "full-larum-operator",
        "platform",
    );
    let sts = get(&cluster, "statefulset", "full-larum-engine", "platform");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );

    // 5. Uninstall removes the release's objects, the CRDs stay.
    let kubeconfig = cluster.kubeconfig().display().to_string();
    helm_ok(&[
        "uninstall",
        RELEASE,
        "-n",
        NAMESPACE,
        "--kubeconfig",
        &kubeconfig,
    ]);
    assert!(
        cluster
            .kubectl(&["get", "statefulset", "larum-engine", "-n", NAMESPACE])
            .is_err()
    );
    assert!(
        cluster
            .kubectl(&["get", "clusterrole", "larum-operator"])
            .is_err()
    );
    cluster
        .kubectl(&["get", "crd", "alertroutes.larum.dev"])
        .unwrap();
}
