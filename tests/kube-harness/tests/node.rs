//! A real single-node cluster in a network namespace: pods run from the images built
//! here, Service DNS names resolve through CoreDNS and ClusterIPs route through
//! kube-proxy from a pod and from the node, the restricted Pod Security profile is
//! enforced, the host-side kubeconfig works for kubectl, kube-rs and helm, and after the
//! node is dropped nothing is left on the host.

use std::time::{Duration, Instant};

use larum_kube_harness::HarnessError;
use larum_kube_harness::node::{self, Node, WEBHOOK_SINK_IMAGE};

const SINK: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: webhook-sink
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: webhook-sink}
  template:
    metadata:
      labels: {app: webhook-sink}
    spec:
      containers:
      - name: sink
        image: IMAGE
        imagePullPolicy: Never
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: webhook-sink
  namespace: default
spec:
  selector: {app: webhook-sink}
  ports: [{port: 8080, targetPort: 8080}]
"#;

/// A Job in a namespace enforcing the restricted profile: resolves the sink's Service
/// name through CoreDNS and GETs what the sink received through the ClusterIP.
const CLIENT: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: restricted
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: batch/v1
kind: Job
metadata:
  name: dns-client
  namespace: restricted
spec:
  backoffLimit: 4
  template:
    spec:
      restartPolicy: Never
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: client
        image: IMAGE
        imagePullPolicy: Never
        args: ["get", "http://webhook-sink.default.svc.cluster.local:8080/notifications"]
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
"#;

const PRIVILEGED: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: privileged
  namespace: restricted
spec:
  containers:
  - name: p
    image: IMAGE
    imagePullPolicy: Never
    securityContext: {privileged: true}
"#;

fn start_or_skip() -> Option<Node> {
    match Node::start() {
        Ok(node) => Some(node),
        Err(e @ (HarnessError::Requirement(_) | HarnessError::ToolMissing { .. }))
            if !node::require_all() =>
        {
            eprintln!("skipping the node test: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn node_runs_pods_with_cluster_dns_clusterip_and_pod_security() {
    let Some(node) = start_or_skip() else { return };
    let name = node.name().to_string();
    let dir = node.dir().to_path_buf();
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        panic!("{what}: {e}\n{}", node.log_tails(10))
    };

    node.apply(&SINK.replace("IMAGE", WEBHOOK_SINK_IMAGE))
        .unwrap_or_else(|e| fail("applying the sink", &e));
    node.kubectl(&[
        "wait",
        "--for=condition=Available",
        "--timeout=120s",
        "deployment/webhook-sink",
    ])
    .unwrap_or_else(|e| fail("waiting for the sink", &e));

    // A notification through the API server's service proxy (what later tests use).
    let proxy = "/api/v1/namespaces/default/services/webhook-sink:8080/proxy";
    node.kubectl_with_stdin(
        &["create", "--raw", &format!("{proxy}/alerts"), "-f", "-"],
        r#"{"status":"firing","receiver":"node-test"}"#,
    )
    .unwrap_or_else(|e| fail("POST through the service proxy", &e));
    let seen = node
        .kubectl(&["get", "--raw", &format!("{proxy}/notifications")])
        .unwrap_or_else(|e| fail("GET through the service proxy", &e));
    assert!(
        seen.contains("node-test") && seen.contains("/alerts"),
        "{seen}"
    );

    // The ClusterIP from the node itself (kube-proxy's OUTPUT rules).
    let cluster_ip = node
        .kubectl(&[
            "get",
            "service",
            "webhook-sink",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ])
        .unwrap_or_else(|e| fail("reading the ClusterIP", &e));
    // kube-proxy programs the Service once its endpoints are there: retry until then.
    let url = format!("http://{cluster_ip}:8080/healthz");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = node
            .exec_in_netns(&["curl", "-sS", "--max-time", "5", &url])
            .unwrap_or_else(|e| fail("curl in the namespace", &e));
        if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok" {
            break;
        }
        if Instant::now() > deadline {
            fail(
                &format!("curl {url} in the namespace"),
                &String::from_utf8_lossy(&out.stderr),
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    // From a pod under the restricted profile: DNS name -> ClusterIP -> the sink.
    node.apply(&CLIENT.replace("IMAGE", WEBHOOK_SINK_IMAGE))
        .unwrap_or_else(|e| fail("applying the client", &e));
    node.kubectl(&[
        "-n",
        "restricted",
        "wait",
        "--for=condition=Complete",
        "--timeout=120s",
        "job/dns-client",
    ])
    .unwrap_or_else(|e| {
        let pods = node
            .kubectl(&["-n", "restricted", "describe", "pods"])
            .unwrap_or_default();
        fail("the client job", &format!("{e}\n{pods}"))
    });
    let logs = node
        .kubectl(&["-n", "restricted", "logs", "job/dns-client"])
        .unwrap_or_else(|e| fail("the client's logs", &e));
    assert!(logs.contains("node-test"), "client got: {logs}");

    // The profile is enforced: a privileged pod is refused there.
    let refused = node.apply(&PRIVILEGED.replace("IMAGE", WEBHOOK_SINK_IMAGE));
    match refused {
        Err(HarnessError::Kubectl { stderr, .. }) => {
            assert!(stderr.contains("violates PodSecurity"), "{stderr}")
        }
        other => panic!("a privileged pod was not refused: {other:?}"),
    }

    // The host-side kubeconfig works for kube-rs and helm too.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let nodes = runtime.block_on(async {
        let client = node.client().await.unwrap_or_else(|e| panic!("{e}"));
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
        api.list(&Default::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    assert_eq!(nodes.items.len(), 1);
    if let Ok(helm) = larum_kube_harness::tool("helm") {
        let out = std::process::Command::new(helm)
            .args(["list", "--all-namespaces", "--kubeconfig"])
            .arg(node.kubeconfig())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "helm list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let problems = node.shutdown();
    assert!(problems.is_empty(), "teardown: {problems:?}");
    let left = node::leftovers(&name, &dir);
    assert!(left.is_empty(), "left on the host: {left:#?}");
}
