//! The chart without a cluster: `helm lint`, the values schema, the CRD copies, and
//! what the templates render (restricted Pod Security settings, peer wiring, labels).

#![allow(clippy::unwrap_used)]

use larum_chart_tests::{
    NAMESPACE, RELEASE, chart_dir, container_args, documents, everything_on, helm, helm_ok, object,
    repo_root, template,
};
use serde_json::Value;

#[test]
fn helm_lint_passes_with_default_and_everything_on_values() {
    let chart = chart_dir().display().to_string();
    let out = helm_ok(&["lint", "--strict", &chart]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
    let all = everything_on().display().to_string();
    let out = helm_ok(&["lint", "--strict", &chart, "-f", &all]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
}

#[test]
fn values_schema_rejects_misspelled_keys() {
    let chart = chart_dir().display().to_string();
    for (set, key) in [
        ("replicaz=3", "replicaz"),
        ("alertmanager.alertmanagerSpec.replica=3", "replica"),
        ("operator.leaderElektion=false", "leaderElektion"),
        ("alertmanager.podDisruptionBudget.enable=true", "enable"),
    ] {
        let out = helm(&["template", "x", &chart, "--set", set]);
        assert!(!out.status.success(), "--set {set} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("additional properties '{key}' not allowed")),
            "--set {set}: {stderr}"
        );
        let out = helm(&["lint", &chart, "--set", set]);
        assert!(!out.status.success(), "helm lint --set {set} passed");
    }
    // Wrong types and values fail too.
    let out = helm(&[
        "template",
        "x",
        &chart,
        "--set",
        "alertmanager.alertmanagerSpec.podAntiAffinity=always",
    ]);
    assert!(!out.status.success());
}

#[test]
fn chart_crds_are_the_repositorys_crds() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let copy = chart_dir().join("crds").join(&name);
        let want = std::fs::read_to_string(&path).unwrap();
        let have = std::fs::read_to_string(&copy).unwrap_or_else(|_| {
            panic!("charts/larum/crds/{name} missing: cp crds/*.yaml charts/larum/crds/")
        });
        assert!(
            want == have,
            "charts/larum/crds/{name} differs from crds/{name}: cp crds/*.yaml charts/larum/crds/"
        );
        names.push(name);
    }
    let mut copies: Vec<String> = std::fs::read_dir(chart_dir().join("crds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    copies.sort();
    names.sort();
    assert_eq!(copies, names, "charts/larum/crds/ has files crds/ does not");
    assert_eq!(names.len(), 3);
}

fn pod_specs(docs: &[Value]) -> Vec<(&str, &Value)> {
    docs.iter()
        .filter(|d| ["Deployment", "StatefulSet"].contains(&d["kind"].as_str().unwrap()))
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap(),
                &d["spec"]["template"]["spec"],
            )
        })
        .collect()
}

#[test]
fn every_pod_meets_the_restricted_pod_security_standard() {
    for values in [vec![], vec![everything_on()]] {
        let refs: Vec<&std::path::Path> = values.iter().map(|p| p.as_path()).collect();
        let docs = documents(&template(&refs, &[]));
        let pods = pod_specs(&docs);
        assert_eq!(
            pods.len(),
            2,
            "an engine StatefulSet and an operator Deployment"
        );
        for (name, pod) in pods {
            let sc = &pod["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{name}");
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{name}");
            assert_ne!(pod["hostNetwork"], true, "{name}");
            for c in pod["containers"].as_array().unwrap() {
                let csc = &c["securityContext"];
                assert_eq!(csc["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(csc["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(
                    csc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{name}"
                );
                assert!(csc["capabilities"]["add"].is_null(), "{name}");
                assert!(c["resources"]["requests"].is_object(), "{name}");
            }
        }
    }
}

#[test]
fn engine_statefulset_wires_every_replica_as_a_peer() {
    let docs = documents(&template(
        &[],
        &["alertmanager.alertmanagerSpec.replicas=5"],
    ));
    let sts = object(&docs, "StatefulSet", "larum-engine");
    assert_eq!(sts["spec"]["replicas"], 5);
    assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
    assert_eq!(sts["spec"]["serviceName"], "larum-engine-cluster");
    let args = container_args(sts, "engine");
    let peers: Vec<&str> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--cluster.peer="))
        .collect();
    let want: Vec<String> = (0..5)
        .map(|i| {
            format!("larum-engine-{i}.larum-engine-cluster.{NAMESPACE}.svc.cluster.local:9094")
        })
        .collect();
    assert_eq!(peers, want);
    assert!(args.contains(&format!("--config.secret={NAMESPACE}/larum-engine-config")));
    assert!(args.contains(&"--cluster.key-file=/etc/larum/cluster/key".to_string()));
    // The operator writes the Secret the engine reads.
    let op = object(&docs, "Deployment", "larum-operator");
    let op_args = container_args(op, "operator");
    assert!(op_args.contains(&format!("--output-secret={NAMESPACE}/larum-engine-config")));
    assert!(op_args.contains(&format!(
        "--engine-service={NAMESPACE}/larum-engine-cluster"
    )));
    let headless = object(&docs, "Service", "larum-engine-cluster");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    let _ = RELEASE;
}

#[test]
fn operator_config_carries_the_root_route_and_admin_receivers() {
    let docs = documents(&template(&[&everything_on()], &[]));
    let secret = object(&docs, "Secret", "larum-operator-config");
    let text = secret["stringData"]["config.yaml"].as_str().unwrap();
    let config: Value = serde_saphyr::from_str(text).unwrap();
    assert_eq!(config["adminNamespace"], "platform");
    assert_eq!(config["route"]["receiver"], "platform");
    assert_eq!(config["receivers"][0]["name"], "platform");
    assert_eq!(
        config["inhibitRules"][0]["equal"],
        serde_json::json!(["namespace", "alertname"])
    );
    assert_eq!(config["expiredSilenceTtl"], "7d");
    // The default: the release namespace is the admin namespace, "null" receiver.
    let docs = documents(&template(&[], &[]));
    let text = object(&docs, "Secret", "larum-operator-config")["stringData"]["config.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    let config: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(config["adminNamespace"], NAMESPACE);
    assert_eq!(config["route"]["receiver"], "null");
}

#[test]
fn storage_uses_a_volume_claim_template_when_set() {
    let docs = documents(&template(&[&everything_on()], &[]));
    let sts = object(&docs, "StatefulSet", "larum-engine");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        "storage"
    );
    let volumes = sts["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(volumes.iter().all(|v| v["name"] != "storage"));
    let docs = documents(&template(&[], &[]));
    let sts = object(&docs, "StatefulSet", "larum-engine");
    assert!(sts["spec"]["volumeClaimTemplates"].is_null());
    let volumes = sts["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["name"] == "storage" && v["emptyDir"].is_object())
    );
}

#[test]
fn crd_reference_doc_is_current() {
    let want = larum_chart_tests::crd_doc::reference(&repo_root().join("crds")).unwrap();
    let have =
        std::fs::read_to_string(repo_root().join("docs/crd-reference.md")).unwrap_or_default();
    assert!(
        want == have,
        "docs/crd-reference.md is stale: run `make crd-reference`"
    );
    for kind in [
        "## AlertRoute",
        "## InhibitRule",
        "## Silence",
        "`spec.matchers[].matchType`",
    ] {
        assert!(want.contains(kind), "{kind} missing");
    }
}

/// The Dockerfiles cannot be built here (no container daemon in CI); this checks what
/// can be checked without one: multi-stage, the right package and binary, non-root,
/// distroless, and the names the chart's values expect.
#[test]
fn dockerfiles_build_each_binary_non_root_on_distroless() {
    let values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())
            .unwrap();
    for (bin, repo) in [
        (
            "larum-engine",
            &values["alertmanager"]["alertmanagerSpec"]["image"]["repository"],
        ),
        ("larum-operator", &values["operator"]["image"]["repository"]),
    ] {
        let short = bin.trim_start_matches("larum-");
        let path = repo_root().join(format!("images/{short}.Dockerfile"));
        let text = std::fs::read_to_string(&path).unwrap();
        let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
        assert_eq!(froms.len(), 2, "{short}: a build and a runtime stage");
        assert!(
            froms[1].contains("distroless/static"),
            "{short}: {}",
            froms[1]
        );
        assert!(froms[1].contains(":nonroot"), "{short}: {}", froms[1]);
        // The full cargo command, user, entrypoint, ... against `make images-oci`: images.rs.
        assert!(
            text.contains(&format!(" -p {bin} --bin {bin}")),
            "{short}: builds {bin}"
        );
        assert!(text.contains("USER 65532:65532"), "{short}: non-root");
        assert!(
            text.contains(&format!("ENTRYPOINT [\"/usr/bin/{bin}\"]")),
            "{short}: entrypoint"
        );
        assert_eq!(repo.as_str(), Some(format!("larum-dev/{bin}").as_str()));
        // The workspace has that binary.
        let manifest =
            std::fs::read_to_string(repo_root().join(format!("{short}/Cargo.toml"))).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{bin}\"")),
            "{short}/Cargo.toml"
        );
    }
    let makefile = std::fs::read_to_string(repo_root().join("Makefile")).unwrap();
    assert!(makefile.contains("IMAGE_REGISTRY ?= ghcr.io/larum-dev"));
    assert_eq!(
        values["alertmanager"]["alertmanagerSpec"]["image"]["registry"],
        "ghcr.io"
    );
}

#[test]
fn probes_and_the_operator_follow_the_route_prefix_of_the_external_url() {
    let docs = documents(&template(
        &[],
        &["alertmanager.alertmanagerSpec.externalUrl=https://a.example.com/alerting/"],
    ));
    let sts = object(&docs, "StatefulSet", "larum-engine");
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/alerting/-/healthy");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/alerting/-/ready");
    // The operator reads the replicas' /metrics and alerts under the same prefix.
    let operator = object(&docs, "Deployment", "larum-operator");
    let args = &operator["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(
        args.as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--engine-path-prefix=/alerting"),
        "{args}"
    );
    let docs = documents(&template(&[], &[]));
    let sts = object(&docs, "StatefulSet", "larum-engine");
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/-/ready");
}

#[test]
fn operator_reads_secrets_only_where_granted() {
    let docs = documents(&template(&[], &[]));
    // No cluster-wide rule on Secrets.
    let cluster_role = object(&docs, "ClusterRole", "larum-operator");
    for rule in cluster_role["rules"].as_array().unwrap() {
        assert!(
            !rule["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "secrets"),
            "cluster-wide Secrets rule: {rule}"
        );
    }
    assert!(
        !docs.iter().any(|d| d["kind"] == "RoleBinding"
            && d["metadata"]["name"] == "larum-operator-secret-reader"),
        "no namespace is granted by default"
    );
    // Listed namespaces get a RoleBinding of the secret-reader ClusterRole.
    let docs = documents(&template(
        &[],
        &["operator.secretNamespaces={team-a,team-b}"],
    ));
    let bound: Vec<&Value> = docs
        .iter()
        .filter(|d| {
            d["kind"] == "RoleBinding" && d["metadata"]["name"] == "larum-operator-secret-reader"
        })
        .collect();
    let namespaces: Vec<&str> = bound
        .iter()
        .map(|b| b["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, ["team-a", "team-b"]);
    for b in bound {
        assert_eq!(b["roleRef"]["name"], "larum-operator-secret-reader");
        assert_eq!(b["subjects"][0]["name"], "larum-operator");
        assert_eq!(b["subjects"][0]["namespace"], NAMESPACE);
    }
}
