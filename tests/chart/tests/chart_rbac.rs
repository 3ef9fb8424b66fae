//! RBAC of the chart's ServiceAccounts, proven on a real kube-apiserver by impersonation
//! (`kubectl auth can-i --as=system:serviceaccount:...`) and with their own tokens.
//!
//! Neither reads other Secrets: the operator reads its output Secret and, per namespace,
//! only the Secrets a team grants it (it watches each referenced Secret by name); the
//! engine reads only its config Secret.

#![allow(clippy::unwrap_used)]

use larum_chart_tests::NAMESPACE;
use larum_chart_tests::kube::{can_i, install_default, service_account_kubeconfig};
use larum_kube_harness::Cluster;

const OP: &str = "larum-operator";
const ENGINE: &str = "larum-engine";
const OUTPUT: &str = "secrets/larum-engine-config";

#[test]
fn service_accounts_have_least_privilege() {
    let cluster = Cluster::start().unwrap();
    install_default(&cluster);
    cluster.kubectl(&["create", "namespace", "team-a"]).unwrap();
    cluster
        .kubectl(&[
            "create",
            "secret",
            "generic",
            "unrelated",
            "-n",
            "team-a",
            "--from-literal=k=v",
        ])
        .unwrap();
    cluster
        .kubectl(&[
            "create",
            "secret",
            "generic",
            "unrelated",
            "-n",
            NAMESPACE,
            "--from-literal=k=v",
        ])
        .unwrap();

    // The operator: everything its reconcile does.
    for kind in [
        "alertroutes.larum.dev",
        "inhibitrules.larum.dev",
        "silences.larum.dev",
    ] {
        for verb in ["list", "watch", "get"] {
            assert!(
                can_i(&cluster, OP, verb, &[kind, "-A"]),
                "operator {verb} {kind}"
            );
        }
        for verb in ["patch", "update"] {
            assert!(
                can_i(
                    &cluster,
                    OP,
                    verb,
                    &[kind, "--subresource=status", "-n", "team-a"]
                ),
                "operator {verb} {kind}/status"
            );
        }
        // Only status: the spec belongs to the teams.
        assert!(
            !can_i(&cluster, OP, "patch", &[kind, "-n", "team-a"]),
            "operator patch {kind}"
        );
        assert!(
            !can_i(&cluster, OP, "create", &[kind, "-n", "team-a"]),
            "operator create {kind}"
        );
    }
    assert!(can_i(
        &cluster,
        OP,
        "delete",
        &["silences.larum.dev", "-n", "team-a"]
    ));
    assert!(!can_i(
        &cluster,
        OP,
        "delete",
        &["alertroutes.larum.dev", "-n", "team-a"]
    ));
    for kind in ["events.events.k8s.io", "events"] {
        assert!(
            can_i(&cluster, OP, "create", &[kind, "-n", "team-a"]),
            "create {kind}"
        );
    }
    // Secrets: none outside its own output Secret until a team grants them.
    for verb in ["get", "list", "watch"] {
        assert!(
            !can_i(&cluster, OP, verb, &["secrets", "-A"]),
            "operator {verb} secrets -A"
        );
        assert!(
            !can_i(&cluster, OP, verb, &["secrets", "-n", "team-a"]),
            "operator {verb} secrets in team-a"
        );
    }
    for verb in ["get", "update", "patch", "delete"] {
        for target in [
            ["secrets/unrelated", "-n", "team-a"],
            ["secrets/unrelated", "-n", NAMESPACE],
        ] {
            assert!(
                !can_i(&cluster, OP, verb, &target),
                "operator {verb} {target:?}"
            );
        }
    }
    // A team grants one Secret (as examples/kubernetes/alertroute.yaml does): the
    // operator may get and watch that one by name, still no other.
    cluster
        .apply(&format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: hook-reader, namespace: team-a}}\nrules: [{{apiGroups: [''], resources: [secrets], resourceNames: [hook], verbs: [get, list, watch]}}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: hook-reader, namespace: team-a}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: hook-reader}}\nsubjects: [{{kind: ServiceAccount, name: larum-operator, namespace: {NAMESPACE}}}]\n"
        ))
        .unwrap();
    for verb in ["get", "list", "watch"] {
        assert!(
            can_i(&cluster, OP, verb, &["secrets/hook", "-n", "team-a"]),
            "operator {verb} the granted Secret"
        );
        assert!(
            !can_i(&cluster, OP, verb, &["secrets/unrelated", "-n", "team-a"]),
            "operator {verb} another Secret"
        );
    }
    // Server-side apply of the missing output Secret is authorized as `create`, which
    // RBAC cannot limit to a name: allowed in its own namespace only.
    assert!(!can_i(&cluster, OP, "create", &["secrets", "-n", "team-a"]));
    assert!(can_i(&cluster, OP, "create", &["secrets", "-n", NAMESPACE]));
    // Its own output Secret, by server-side apply.
    for verb in ["get", "patch", "update"] {
        assert!(
            can_i(&cluster, OP, verb, &[OUTPUT, "-n", NAMESPACE]),
            "operator {verb} output"
        );
    }
    assert!(!can_i(&cluster, OP, "delete", &[OUTPUT, "-n", NAMESPACE]));
    // Leader election and the engine's EndpointSlices, in its namespace only.
    assert!(can_i(
        &cluster,
        OP,
        "create",
        &["leases.coordination.k8s.io", "-n", NAMESPACE]
    ));
    for verb in ["get", "update", "patch"] {
        assert!(can_i(
            &cluster,
            OP,
            verb,
            &["leases.coordination.k8s.io/larum-operator", "-n", NAMESPACE]
        ));
    }
    assert!(!can_i(
        &cluster,
        OP,
        "update",
        &["leases.coordination.k8s.io/other", "-n", NAMESPACE]
    ));
    assert!(!can_i(
        &cluster,
        OP,
        "create",
        &["leases.coordination.k8s.io", "-n", "team-a"]
    ));
    for verb in ["list", "watch"] {
        assert!(can_i(
            &cluster,
            OP,
            verb,
            &["endpointslices.discovery.k8s.io", "-n", NAMESPACE]
        ));
    }
    assert!(!can_i(
        &cluster,
        OP,
        "list",
        &["endpointslices.discovery.k8s.io", "-n", "team-a"]
    ));
    assert!(!can_i(&cluster, OP, "list", &["pods", "-A"]));
    assert!(!can_i(&cluster, OP, "create", &["pods", "-n", NAMESPACE]));

    // The engine: its own config Secret (get, and list/watch by name), nothing else.
    for verb in ["get", "list", "watch"] {
        assert!(
            can_i(&cluster, ENGINE, verb, &[OUTPUT, "-n", NAMESPACE]),
            "engine {verb} config"
        );
    }
    for verb in ["update", "patch", "delete"] {
        assert!(
            !can_i(&cluster, ENGINE, verb, &[OUTPUT, "-n", NAMESPACE]),
            "engine {verb} config"
        );
    }
    for target in [
        ["secrets/unrelated", "-n", NAMESPACE],
        ["secrets/larum-cluster-key", "-n", NAMESPACE],
        ["secrets/larum-operator-config", "-n", NAMESPACE],
        ["secrets/unrelated", "-n", "team-a"],
    ] {
        assert!(
            !can_i(&cluster, ENGINE, "get", &target),
            "engine get {target:?}"
        );
    }
    assert!(!can_i(
        &cluster,
        ENGINE,
        "list",
        &["secrets", "-n", NAMESPACE]
    ));
    assert!(!can_i(&cluster, ENGINE, "list", &["secrets", "-A"]));
    assert!(!can_i(
        &cluster,
        ENGINE,
        "list",
        &["alertroutes.larum.dev", "-A"]
    ));

    // The same with real tokens: what the engine's Secret watch does (get, then
    // list/watch with a metadata.name field selector) works; the rest is Forbidden.
    // (The chart creates the Secret empty; the operator fills it.)
    let filled = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "larum-engine-config", "namespace": NAMESPACE},
        "stringData": {"alertmanager.yaml": "route: {receiver: x}"},
    });
    cluster.apply(&filled.to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine_kc = service_account_kubeconfig(&cluster, NAMESPACE, ENGINE, dir.path());
    let as_engine = |args: &[&str]| {
        let mut all = vec![format!("--kubeconfig={}", engine_kc.display())];
        all.extend(args.iter().map(|s| s.to_string()));
        std::process::Command::new(larum_kube_harness::tool("kubectl").unwrap())
            .args(&all)
            .output()
            .unwrap()
    };
    let out = as_engine(&[
        "get",
        "secret",
        "larum-engine-config",
        "-n",
        NAMESPACE,
        "-o",
        "name",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_engine(&[
        "get",
        "secrets",
        "-n",
        NAMESPACE,
        "--field-selector=metadata.name=larum-engine-config",
        "-o",
        "name",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "secret/larum-engine-config"
    );
    for args in [
        vec!["get", "secret", "unrelated", "-n", NAMESPACE],
        vec!["get", "secret", "larum-cluster-key", "-n", NAMESPACE],
        vec!["get", "secrets", "-n", NAMESPACE],
        vec!["get", "secret", "unrelated", "-n", "team-a"],
    ] {
        let out = as_engine(&args);
        assert!(!out.status.success(), "engine token: {args:?} allowed");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Forbidden"),
            "{args:?}"
        );
    }
}
