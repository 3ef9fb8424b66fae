//! Larum on a real Kubernetes node, installed as a platform team installs it: the images
//! of `make images-oci` imported into the node's containerd, `helm install` into a
//! namespace enforcing the restricted Pod Security Standard, Prometheus and a webhook
//! receiver as pods, `examples/kubernetes/` applied. One node for the whole story (it
//! takes a minute to start), told step by step:
//!
//! 1. every chart pod Running and Ready: operator 2/2 with one Lease holder, engine 3/3
//!    forming one cluster of 3 through the headless Service's DNS names;
//! 2. Prometheus pod -> engines -> AlertRoute -> webhook pod: one notification although
//!    all three replicas hold the alert;
//! 3. a Silence applied with kubectl mutes the alert on all three pods and shows in its
//!    status; deleting it unmutes;
//! 4. a deleted engine pod comes back Ready with every silence, no duplicate sent;
//! 5. `helm upgrade` rolls the engines one at a time, nothing lost or duplicated;
//! 6. an engine container killed under the kubelet is restarted and answers 503 on
//!    `/-/ready` until it has settled;
//! 7. `helm uninstall` leaves only the CRDs.
//!
//! Needs root, `ip`, containerd, runc, the CNI plugins and the node tools of `make
//! cluster-tools`, and the image archives of `make images-oci node-images` (`make test`
//! builds them). Without them the test says what is missing and passes, unless `CI` or
//! `LARUM_REQUIRE_ALL` is set: then it fails naming it.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use larum_chart_tests::node::{
    ENGINE, Images, Kube, NAMESPACE, OPERATOR, deploy_demo, firing_notifications, helm_install,
    pod_ready, pod_states, wait_chart_ready,
};
use larum_kube_harness::node::{self, Node};
use serde_json::{Value, json};

const ENGINE_PODS: [&str; 3] = ["larum-engine-0", "larum-engine-1", "larum-engine-2"];
const ENGINE_SELECTOR: &str = "app.kubernetes.io/name=larum-engine";
/// Longer than the example AlertRoute's group_wait (1s) plus the last replica's wait
/// (2 x --cluster.peer-timeout, 15s by default) and a resend: a duplicate shows by then.
const QUIET: Duration = Duration::from_secs(40);

fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("LARUM_REQUIRE_ALL").is_some()
}

/// Fails (CI, LARUM_REQUIRE_ALL) or says why the test does not run.
fn unavailable(why: &str) {
    assert!(!required(), "node test cannot run: {why}");
    eprintln!("SKIPPED node_e2e: {why} (set CI or LARUM_REQUIRE_ALL to make this a failure)");
}

fn step(n: u32, what: &str, since: Instant) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    eprintln!(
        "== [{:>5.1}s] ({}) step {n}: {what}",
        since.elapsed().as_secs_f64(),
        rfc3339(now.as_secs())
    );
}

/// Asserts that the sink got exactly `want` firing notifications for `alertname`,
/// listing every notification (arrival, group, status) and the engines' logs if not.
fn assert_notified(kube: &Kube, alertname: &str, want: usize, why: &str) {
    let got = firing_notifications(kube, alertname).unwrap();
    if got == want {
        return;
    }
    let all = kube
        .service_get("sink", "webhook-sink", 8080, "/notifications")
        .unwrap_or_default();
    let list: Value = serde_json::from_str(&all).unwrap_or(Value::Null);
    let summary: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    format!(
                        "{} {} {} alerts={}",
                        n["receivedAt"].as_str().unwrap_or("?"),
                        n["body"]["groupKey"],
                        n["body"]["status"],
                        n["body"]["alerts"].as_array().map_or(0, Vec::len)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut logs = String::new();
    for pod in ENGINE_PODS {
        logs += &format!("--- {pod}\n");
        logs += &kube
            .kubectl(&["logs", "-n", NAMESPACE, pod, "--tail=400"])
            .unwrap_or_else(|e| e)
            .lines()
            .filter(|l| {
                l.contains("otif")
                    || l.contains("ettle")
                    || l.contains("level=warn")
                    || l.contains("level=error")
            })
            .collect::<Vec<_>>()
            .join("\n");
        logs.push('\n');
    }
    panic!(
        "{why}: {got} firing notifications for {alertname}, want {want}\n{}\n{logs}",
        summary.join("\n")
    );
}

#[test]
fn larum_on_a_real_node_installed_with_helm() {
    let images = Images::locate();
    let archives = match images.archives() {
        Ok(a) => a,
        Err(e) => return unavailable(&e),
    };
    if let Err(e) = node::check_requirements() {
        return unavailable(&e.to_string());
    }
    let node = Node::start().unwrap_or_else(|e| panic!("starting the node: {e}"));
    let kube = Kube::new(node.kubeconfig()).unwrap();
    let t0 = Instant::now();
    // The node imported its own images (pause, CoreDNS, webhook sink); Larum's and
    // Prometheus' are loaded as a user loads them: `ctr -n k8s.io images import`.
    for archive in archives.iter().filter(|a| {
        let file = a
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        !node::NODE_IMAGES.contains(&file.as_str())
    }) {
        node.import_image(archive).unwrap();
    }

    // 1. helm install, every pod Ready, one cluster of 3.
    step(1, "helm install into a restricted namespace", t0);
    let install_started = Instant::now();
    helm_install(&kube, &images, &[]).unwrap();
    wait_chart_ready(&kube, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}\n{}", diagnose(&kube)));
    let install_to_ready = install_started.elapsed();
    let crds_before = crd_names(&kube);
    eprintln!(
        "BENCH node_helm_install_to_ready_ms={}",
        install_to_ready.as_millis()
    );
    let ns = kube.get_json(&["namespace", NAMESPACE]).unwrap();
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted",
        "the chart's namespace enforces the restricted standard"
    );
    let operators = kube
        .pods(NAMESPACE, "app.kubernetes.io/name=larum-operator")
        .unwrap();
    let operator_names: BTreeSet<String> = operators.iter().map(name).collect();
    let holder = kube
        .wait(
            "the operator's Lease to have a holder",
            Duration::from_secs(60),
            || {
                let lease = kube.get_json(&["lease", OPERATOR, "-n", NAMESPACE])?;
                Ok(lease["spec"]["holderIdentity"].as_str().map(str::to_string))
            },
        )
        .unwrap();
    assert!(
        operator_names.contains(&holder),
        "Lease holder {holder} is one of the operator pods {operator_names:?}"
    );
    wait_one_cluster(&kube, Duration::from_secs(120));
    let sts = kube
        .get_json(&["statefulset", ENGINE, "-n", NAMESPACE])
        .unwrap();
    let args = sts["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains("larum-engine-cluster.larum-system.svc.cluster.local:9094"),
        "peers are the headless Service's DNS names: {args}"
    );

    // 2. Prometheus -> engines -> AlertRoute -> webhook pod, once.
    step(
        2,
        "Prometheus and the webhook sink as pods, examples applied",
        t0,
    );
    deploy_demo(&kube, &images).unwrap();
    kube.wait_pods_ready("monitoring", "app=prometheus", 1, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}\n{}", diagnose(&kube)));
    kube.wait_pods_ready("sink", "app=webhook-sink", 1, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}\n{}", diagnose(&kube)));
    kube.wait(
        "the first DemoAlwaysFiring notification",
        Duration::from_secs(180),
        || Ok((firing_notifications(&kube, "DemoAlwaysFiring")? > 0).then_some(())),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", diagnose(&kube)));
    for pod in ENGINE_PODS {
        kube.wait(
            &format!("{pod} to hold DemoAlwaysFiring"),
            Duration::from_secs(60),
            || Ok(alert_state(&kube, pod, "DemoAlwaysFiring")?.map(|_| ())),
        )
        .unwrap();
    }
    std::thread::sleep(QUIET);
    assert_notified(
        &kube,
        "DemoAlwaysFiring",
        1,
        "one notification from three replicas",
    );
    assert_notified(
        &kube,
        "DemoNoisy",
        0,
        "DemoNoisy is muted by examples/kubernetes/silence.yaml",
    );

    // 3. A Silence through kubectl mutes on all three pods; deleting it unmutes.
    step(3, "kubectl apply of a Silence", t0);
    let silence = json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "Silence",
        "metadata": {"name": "always-firing", "namespace": "team-a"},
        "spec": {"matchers": [{"name": "alertname", "value": "DemoAlwaysFiring"}],
                 "duration": "1h", "createdBy": "node-test", "comment": "node e2e"},
    });
    let applied = Instant::now();
    kube.apply(&silence.to_string()).unwrap();
    for pod in ENGINE_PODS {
        kube.wait(
            &format!("{pod} to mute DemoAlwaysFiring"),
            Duration::from_secs(30),
            || {
                Ok(
                    (alert_state(&kube, pod, "DemoAlwaysFiring")?.as_deref() == Some("suppressed"))
                        .then_some(()),
                )
            },
        )
        .unwrap();
    }
    eprintln!(
        "BENCH node_silence_apply_to_muted_on_3_pods_ms={}",
        applied.elapsed().as_millis()
    );
    let status = kube
        .wait("the Silence's status", Duration::from_secs(30), || {
            let s = kube.get_json(&["silence", "always-firing", "-n", "team-a"])?;
            let st = &s["status"];
            Ok(
                (st["state"] == "active" && st["silenceId"].is_string() && st["mutedAlerts"] == 1)
                    .then(|| st.clone()),
            )
        })
        .unwrap();
    eprintln!("Silence status: {status}");
    kube.kubectl(&["delete", "silence", "always-firing", "-n", "team-a"])
        .unwrap();
    for pod in ENGINE_PODS {
        kube.wait(
            &format!("{pod} to unmute DemoAlwaysFiring"),
            Duration::from_secs(30),
            || {
                Ok(
                    (alert_state(&kube, pod, "DemoAlwaysFiring")?.as_deref() == Some("active"))
                        .then_some(()),
                )
            },
        )
        .unwrap();
    }

    std::thread::sleep(QUIET);
    assert_notified(
        &kube,
        "DemoAlwaysFiring",
        1,
        "unmuting does not notify again",
    );

    // 4. A deleted engine pod comes back with every silence; no duplicate meanwhile.
    step(4, "kubectl delete pod larum-engine-1", t0);
    let api_silence = post_silence(&kube, "DeletedPodCheck");
    let before = kube
        .wait(
            "every replica to hold the new silence",
            Duration::from_secs(30),
            || {
                let sets: Vec<BTreeSet<String>> =
                    ENGINE_PODS.iter().map(|p| silence_ids(&kube, p)).collect();
                Ok((sets
                    .iter()
                    .all(|s| s.contains(&api_silence) && *s == sets[0]))
                .then(|| sets[0].clone()))
            },
        )
        .unwrap();
    let old_uid = kube
        .get_json(&["pod", "larum-engine-1", "-n", NAMESPACE])
        .unwrap()["metadata"]["uid"]
        .clone();
    kube.kubectl(&[
        "delete",
        "pod",
        "larum-engine-1",
        "-n",
        NAMESPACE,
        "--wait=false",
    ])
    .unwrap();
    kube.wait(
        "larum-engine-1 to come back Ready",
        Duration::from_secs(180),
        || {
            let pod = kube.get_json(&["pod", "larum-engine-1", "-n", NAMESPACE])?;
            Ok((pod["metadata"]["uid"] != old_uid && pod_ready(&pod)).then_some(()))
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", diagnose(&kube)));
    wait_one_cluster(&kube, Duration::from_secs(60));
    let after = silence_ids(&kube, "larum-engine-1");
    assert!(
        before.is_subset(&after),
        "the new pod (empty disk) holds every silence again: had {before:?}, now {after:?}"
    );
    std::thread::sleep(QUIET);
    assert_notified(
        &kube,
        "DemoAlwaysFiring",
        1,
        "no duplicate while a replica restarted on an empty disk",
    );

    // 5. helm upgrade rolls one pod at a time; an alert sent meanwhile arrives once.
    step(
        5,
        "helm upgrade (engine log level) rolls the StatefulSet",
        t0,
    );
    let revision_before = sts_revision(&kube);
    helm_install(
        &kube,
        &images,
        &["--set", "alertmanager.alertmanagerSpec.logLevel=debug"],
    )
    .unwrap();
    let mut worst_ready = 3;
    let roll_started = Instant::now();
    let mut posted = 0;
    loop {
        let pods = kube.pods(NAMESPACE, ENGINE_SELECTOR).unwrap();
        let ready: Vec<&Value> = pods.iter().filter(|p| pod_ready(p)).collect();
        worst_ready = worst_ready.min(ready.len());
        // As Prometheus does: the alert to every replica that answers, every 2 s.
        if roll_started.elapsed() >= Duration::from_secs(2 * posted) {
            for pod in &ready {
                let _ = post_alert(&kube, &name(pod), "RollingUpgrade");
            }
            posted += 1;
        }
        let sts = kube
            .get_json(&["statefulset", ENGINE, "-n", NAMESPACE])
            .unwrap();
        let done = sts["status"]["updateRevision"] != revision_before
            && sts["status"]["updatedReplicas"] == 3
            && sts["status"]["readyReplicas"] == 3
            && sts["status"]["currentRevision"] == sts["status"]["updateRevision"];
        if done {
            break;
        }
        assert!(
            roll_started.elapsed() < Duration::from_secs(400),
            "the roll did not finish: {}\n{}",
            pod_states(&pods),
            diagnose(&kube)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        worst_ready >= 2,
        "never more than one engine pod unavailable (saw {worst_ready} ready)"
    );
    for pod in ENGINE_PODS {
        post_alert(&kube, pod, "RollingUpgrade").unwrap();
    }
    kube.wait(
        "the RollingUpgrade notification",
        Duration::from_secs(60),
        || Ok((firing_notifications(&kube, "RollingUpgrade")? > 0).then_some(())),
    )
    .unwrap();
    std::thread::sleep(QUIET);
    assert_notified(&kube, "RollingUpgrade", 1, "sent during the roll: once");
    assert_notified(&kube, "DemoAlwaysFiring", 1, "no repeat after the roll");

    // 6. A container killed under the kubelet: restarted, 503 until settled.
    step(6, "kill -9 of larum-engine-2's container process", t0);
    let restarts_before = restart_count(&kube, "larum-engine-2");
    let engine_pid = engine_process("larum-engine-2").expect("larum-engine-2's engine process");
    let answers = ReadyPoller::start(engine_pid);
    Command::new("kill")
        .args(["-9", &engine_pid.to_string()])
        .status()
        .unwrap();
    kube.wait(
        "the kubelet to restart the container",
        Duration::from_secs(120),
        || Ok((restart_count(&kube, "larum-engine-2") > restarts_before).then_some(())),
    )
    .unwrap();
    let seen = answers.wait_for_ok_after_failure(Duration::from_secs(120));
    eprintln!("/-/ready answers after the kill: {seen}");
    let first_ok = seen.find("200").unwrap();
    assert!(
        seen[..first_ok].contains("503"),
        "the restarted engine answered /-/ready 503 before 200: {seen}"
    );
    kube.wait_pods_ready(NAMESPACE, ENGINE_SELECTOR, 3, Duration::from_secs(120))
        .unwrap();
    wait_one_cluster(&kube, Duration::from_secs(60));

    // 7. helm uninstall leaves only the CRDs.
    step(7, "helm uninstall", t0);
    kube.helm(&[
        "uninstall",
        "larum",
        "-n",
        NAMESPACE,
        "--wait",
        "--timeout",
        "180s",
    ])
    .unwrap();
    kube.wait("the release's pods to go", Duration::from_secs(120), || {
        let left = kube.pods(NAMESPACE, "app.kubernetes.io/instance=larum")?;
        Ok(left.is_empty().then_some(()))
    })
    .unwrap();
    let left = kube
        .kubectl(&[
            "get",
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets,\
             clusterroles,clusterrolebindings,networkpolicies",
            "-A",
            "-l",
            "app.kubernetes.io/instance=larum",
            "-o",
            "name",
        ])
        .unwrap();
    assert_eq!(
        left.trim(),
        "",
        "helm uninstall leaves nothing of the release"
    );
    let secrets = kube
        .kubectl(&["get", "secrets", "-n", NAMESPACE, "-o", "name"])
        .unwrap();
    assert!(
        !secrets.contains("larum-engine-config") && !secrets.contains("larum-cluster-key"),
        "the rendered config and the gossip key are gone: {secrets}"
    );
    assert_eq!(crd_names(&kube), crds_before, "the CRDs stay");
    assert!(crds_before.iter().any(|c| c == "silences.larum.dev"));
    eprintln!("== [{:>5.1}s] done", t0.elapsed().as_secs_f64());
}

fn name(pod: &Value) -> String {
    pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn crd_names(kube: &Kube) -> Vec<String> {
    let list = kube.get_json(&["crd"]).unwrap();
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .filter(|n| n.ends_with(".larum.dev"))
        .collect();
    names.sort();
    names
}

/// Events and pod states of the chart's namespace, for failure messages.
fn diagnose(kube: &Kube) -> String {
    let mut out = String::new();
    for ns in [NAMESPACE, "monitoring", "sink", "kube-system"] {
        out += &format!("--- {ns}\n");
        out += &kube
            .kubectl(&["get", "pods", "-n", ns, "-o", "wide"])
            .unwrap_or_else(|e| e);
        out += &kube
            .kubectl(&["get", "events", "-n", ns, "--sort-by=.lastTimestamp"])
            .unwrap_or_else(|e| e)
            .lines()
            .rev()
            .take(25)
            .collect::<Vec<_>>()
            .join("\n");
        out.push('\n');
    }
    for pod in ENGINE_PODS.iter().chain(&["deploy/larum-operator"]) {
        out += &format!("--- logs {pod}\n");
        let logs = kube
            .kubectl(&["logs", "-n", NAMESPACE, pod, "--tail=15"])
            .unwrap_or_else(|e| e);
        out += &logs;
    }
    out
}

/// Waits until every engine pod reports one cluster of the three pods, status ready.
fn wait_one_cluster(kube: &Kube, timeout: Duration) {
    let expected: BTreeSet<String> = ENGINE_PODS.iter().map(|s| s.to_string()).collect();
    for pod in ENGINE_PODS {
        kube.wait(&format!("{pod} to see a cluster of 3"), timeout, || {
            let status = kube.engine_json(pod, "/api/v2/status")?;
            let peers: BTreeSet<String> = status["cluster"]["peers"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .filter_map(|p| p["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if status["cluster"]["status"] == "ready" && peers == expected {
                Ok(Some(()))
            } else {
                Err(format!("{pod}: {}", status["cluster"]))
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", diagnose(kube)));
    }
}

/// The state (`active`, `suppressed`) of the alert `alertname` on `pod`, if it has it.
fn alert_state(kube: &Kube, pod: &str, alertname: &str) -> Result<Option<String>, String> {
    let alerts = kube.engine_json(pod, "/api/v2/alerts")?;
    Ok(alerts.as_array().and_then(|a| {
        a.iter()
            .find(|a| a["labels"]["alertname"] == alertname)
            .and_then(|a| a["status"]["state"].as_str().map(str::to_string))
    }))
}

/// The IDs of the active silences `pod` holds.
fn silence_ids(kube: &Kube, pod: &str) -> BTreeSet<String> {
    let silences = kube.engine_json(pod, "/api/v2/silences").unwrap();
    silences
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"]["state"] == "active")
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}

/// Creates a silence through the engines' client Service (as amtool does); its ID.
fn post_silence(kube: &Kube, alertname: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = json!({
        "matchers": [{"name": "alertname", "value": alertname, "isRegex": false, "isEqual": true}],
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + 3600),
        "createdBy": "node-test",
        "comment": "created through the client Service",
    });
    let path =
        format!("/api/v1/namespaces/{NAMESPACE}/services/{ENGINE}:9093/proxy/api/v2/silences");
    let answer = kube.raw_post(&path, &body.to_string()).unwrap();
    let v: Value = serde_json::from_str(&answer).unwrap();
    v["silenceID"].as_str().unwrap().to_string()
}

/// Posts one firing alert (namespace team-a, so the example AlertRoute takes it) to `pod`.
fn post_alert(kube: &Kube, pod: &str, alertname: &str) -> Result<String, String> {
    let body = json!([{
        "labels": {"alertname": alertname, "namespace": "team-a", "severity": "warning"},
        "annotations": {"summary": "posted by the node test"},
    }]);
    kube.raw_post(
        &format!("/api/v1/namespaces/{NAMESPACE}/pods/{pod}:9093/proxy/api/v2/alerts"),
        &body.to_string(),
    )
}

fn rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn sts_revision(kube: &Kube) -> Value {
    kube.get_json(&["statefulset", ENGINE, "-n", NAMESPACE])
        .unwrap()["status"]["updateRevision"]
        .clone()
}

fn restart_count(kube: &Kube, pod: &str) -> u64 {
    let pod = kube.get_json(&["pod", pod, "-n", NAMESPACE]).unwrap();
    pod["status"]["containerStatuses"][0]["restartCount"]
        .as_u64()
        .unwrap_or(0)
}

/// The host PID of the engine process of `pod` (its environment names the pod).
fn engine_process(pod: &str) -> Option<u32> {
    let wanted = format!("POD_NAME={pod}");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).starts_with("/usr/bin/larum-engine") {
            continue;
        }
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

/// Another process in the same network namespace as `pid` (the pod's sandbox), which
/// outlives the engine container.
fn sandbox_of(pid: u32) -> Option<u32> {
    let netns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let other: u32 = e.file_name().to_string_lossy().parse().ok()?;
        (other != pid && std::fs::read_link(format!("/proc/{other}/ns/net")).ok()? == netns)
            .then_some(other)
    })
}

/// Polls `http://127.0.0.1:9093/-/ready` from inside a pod's network namespace as fast
/// as curl goes, recording each answer (`000` when nothing listens).
struct ReadyPoller {
    answers: Arc<Mutex<Vec<String>>>,
    child: std::process::Child,
}

impl ReadyPoller {
    fn start(engine_pid: u32) -> ReadyPoller {
        let sandbox = sandbox_of(engine_pid).expect("the pod's sandbox process");
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/proc/{sandbox}/ns/net"))
            .args([
                "sh",
                "-c",
                "while :; do curl -s -o /dev/null -m 1 -w '%{http_code}\\n' \
                 http://127.0.0.1:9093/-/ready; done",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsenter");
        let out = child.stdout.take().unwrap();
        let answers = Arc::new(Mutex::new(Vec::new()));
        let sink = answers.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        ReadyPoller { answers, child }
    }

    /// Waits until a 200 follows a failure (the restarted process settled); the answers
    /// from the first failure on, run-length encoded (`200x12 000x40 503x7 200x1`).
    fn wait_for_ok_after_failure(mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let answers = self.answers.lock().unwrap().clone();
            if let Some(first_fail) = answers.iter().position(|a| a != "200")
                && answers[first_fail..].iter().any(|a| a == "200")
            {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return run_lengths(&answers[first_fail..]);
            }
            assert!(
                Instant::now() < deadline,
                "no 200 after the kill: {}",
                run_lengths(&answers)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ReadyPoller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_lengths(answers: &[String]) -> String {
    let mut out: Vec<(String, usize)> = Vec::new();
    for a in answers {
        match out.last_mut() {
            Some((last, n)) if last == a => *n += 1,
            _ => out.push((a.clone(), 1)),
        }
    }
    out.iter()
        .map(|(a, n)| format!("{a}x{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
