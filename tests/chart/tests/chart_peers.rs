//! Peer wiring: the operator and 3 engines started with exactly the arguments the chart
//! renders (addresses rewritten to loopback, the DNS name of replica N mapped to its
//! gossip port), authenticated with the chart's own ServiceAccount tokens. The operator
//! writes the config Secret, the engines load it through `--config.secret` and form one
//! cluster of 3 with the chart's `--cluster.label` and `--cluster.key-file`.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use larum_chart_tests::kube::{install_default, service_account_kubeconfig};
use larum_chart_tests::{
    NAMESPACE, Proc, ReplicaPorts, container_args, documents, http_get, loopback_args, object,
    template, wait_until, wait_until_or, workspace_binary,
};
use larum_kube_harness::{Cluster, free_port};
use serde_json::Value;

#[test]
fn engines_started_with_the_rendered_args_form_one_cluster() {
    let engine_bin = workspace_binary("larum-engine");
    let operator_bin = workspace_binary("larum-operator");
    let cluster = Cluster::start().unwrap();
    install_default(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(&template(&[], &[]));

    // The operator, as its Deployment runs it, with its ServiceAccount's token.
    let op_kc = service_account_kubeconfig(&cluster, NAMESPACE, "larum-operator", dir.path());
    let config_text = object(&docs, "Secret", "larum-operator-config")["stringData"]["config.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    let config_path = dir.path().join("operator-config.yaml");
    std::fs::write(&config_path, config_text).unwrap();
    let op_port = free_port().unwrap();
    let mut op_args: Vec<String> =
        container_args(object(&docs, "Deployment", "larum-operator"), "operator")
            .into_iter()
            .map(|a| {
                if a.starts_with("--config=") {
                    format!("--config={}", config_path.display())
                } else if a.starts_with("--listen-address=") {
                    format!("--listen-address=127.0.0.1:{op_port}")
                } else {
                    a
                }
            })
            .collect();
    op_args.push(format!("--kubeconfig={}", op_kc.display()));
    let mut operator = Proc::start(
        "larum-operator",
        &operator_bin,
        &op_args,
        &[("POD_NAME", "larum-operator-0")],
        dir.path().join("operator.log"),
    );
    let op_log = dir.path().join("operator.log");
    wait_until_or(
        "the operator writes the engine's config Secret",
        Duration::from_secs(30),
        || {
            operator.assert_running();
            cluster
                .kubectl(&["get", "secret", "larum-engine-config", "-n", NAMESPACE])
                .ok()
        },
        || std::fs::read_to_string(&op_log).unwrap_or_default(),
    );

    // The gossip key the chart generated.
    let key = cluster
        .kubectl(&[
            "get",
            "secret",
            "larum-cluster-key",
            "-n",
            NAMESPACE,
            "-o",
            "go-template={{.data.key | base64decode}}",
        ])
        .unwrap();
    let key_file = dir.path().join("cluster-key");
    std::fs::write(&key_file, key).unwrap();

    // Three engines with the StatefulSet's args and the engine ServiceAccount's token.
    let sts = object(&docs, "StatefulSet", "larum-engine");
    let rendered = container_args(sts, "engine");
    let replicas = sts["spec"]["replicas"].as_u64().unwrap() as usize;
    assert_eq!(replicas, 3);
    let engine_kc = service_account_kubeconfig(&cluster, NAMESPACE, "larum-engine", dir.path());
    let ports: Vec<ReplicaPorts> = (0..replicas)
        .map(|_| ReplicaPorts {
            web: free_port().unwrap(),
            cluster: free_port().unwrap(),
        })
        .collect();
    let mut engines: Vec<Proc> = (0..replicas)
        .map(|i| {
            let data = dir.path().join(format!("data-{i}"));
            let args = loopback_args(&rendered, "larum-engine", i, &ports, &data, &key_file);
            Proc::start(
                &format!("larum-engine-{i}"),
                &engine_bin,
                &args,
                &[("KUBECONFIG", engine_kc.to_str().unwrap())],
                dir.path().join(format!("engine-{i}.log")),
            )
        })
        .collect();

    for (i, p) in ports.iter().enumerate() {
        let status: Value = wait_until(
            &format!("larum-engine-{i} sees 3 ready peers"),
            Duration::from_secs(45),
            || {
                engines[i].assert_running();
                let (code, body) = http_get(&format!("http://127.0.0.1:{}/api/v2/status", p.web))?;
                let status: Value = serde_json::from_str(&body).ok()?;
                let peers = status["cluster"]["peers"].as_array()?.len();
                (code == 200 && peers == 3 && status["cluster"]["status"] == "ready")
                    .then_some(status)
            },
        );
        let mut names: Vec<&str> = status["cluster"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["larum-engine-0", "larum-engine-1", "larum-engine-2"]
        );
        // It runs the config the operator rendered from the chart's values.
        let original = status["config"]["original"].as_str().unwrap();
        assert!(
            original.contains("receiver: \"null\"")
                || original.contains("receiver: 'null'")
                || original.contains("receiver: null"),
            "{original}"
        );
        let (code, _) = http_get(&format!("http://127.0.0.1:{}/-/ready", p.web)).unwrap();
        assert_eq!(code, 200);
    }
    // With the chart's RBAC nothing was refused: the engines' Secret watch, the
    // operator's caches, Lease and Secret apply.
    operator.assert_running();
    for p in engines.iter().chain(std::iter::once(&operator)) {
        let log = p.log().to_lowercase();
        assert!(!log.contains("forbidden"), "{}", p.log_tail(20));
    }
    assert!(
        operator.log().contains("became the leader"),
        "{}",
        operator.log_tail(20)
    );
    drop(engines);
}
