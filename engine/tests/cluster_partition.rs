#![allow(clippy::unwrap_used)]
//! A network partition with Linux network namespaces: three replicas run in a namespace
//! the test creates, each on its own address; policy routing rules inside that namespace
//! cut replica `a` off from `b` and `c`. During the partition both sides notify
//! (fail-open, like upstream); after healing, a silence made on the cut-off side reaches
//! the others and no further duplicates are sent. Needs root (`ip netns`); nothing
//! outside the test's namespace and its veth pair is touched.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::alerts::{SilenceMatcher, alert, create_silence, post_alerts};
use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};
use support::process::http_client;
use support::receiver::{Received, WebhookReceiver};

const GROUP_INTERVAL: f64 = 4.0;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A namespace joined to the test's namespace by a veth pair; removed when dropped.
struct Netns {
    name: String,
    host_side: String,
    subnet: String,
}

impl Netns {
    fn create(replica_hosts: &[u8]) -> Result<Netns, String> {
        let id = std::process::id() % 200 + 20;
        let ns = Netns {
            name: format!("larum-part-{}", std::process::id()),
            host_side: format!("lrmh{id}"),
            subnet: format!("10.234.{id}"),
        };
        ip(&["netns", "add", &ns.name])?;
        let peer = format!("lrmn{id}");
        ip(&[
            "link",
            "add",
            &ns.host_side,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
        ])?;
        ip(&["link", "set", &peer, "netns", &ns.name])?;
        ip(&[
            "addr",
            "add",
            &format!("{}.1/24", ns.subnet),
            "dev",
            &ns.host_side,
        ])?;
        ip(&["link", "set", &ns.host_side, "up"])?;
        ns.exec(&["link", "set", "lo", "up"])?;
        ns.exec(&["addr", "add", &format!("{}.2/24", ns.subnet), "dev", &peer])?;
        for h in replica_hosts {
            ns.exec(&[
                "addr",
                "add",
                &format!("{}.{h}/32", ns.subnet),
                "dev",
                &peer,
            ])?;
        }
        ns.exec(&["link", "set", &peer, "up"])?;
        // Local delivery is looked up after our rules, so they can cut local traffic.
        ns.exec(&["rule", "add", "pref", "32000", "table", "local"])?;
        ns.exec(&["rule", "del", "pref", "0", "table", "local"])?;
        Ok(ns)
    }

    fn exec(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["netns", "exec", &self.name, "ip"];
        all.extend_from_slice(args);
        ip(&all)
    }

    fn addr(&self, host: u8) -> String {
        format!("{}.{host}", self.subnet)
    }

    /// Cuts (or restores) traffic between `a` and each of `others`, both ways.
    fn cut(&self, a: u8, others: &[u8], on: bool) {
        for o in others {
            for (from, to) in [(a, *o), (*o, a)] {
                let (from, to) = (self.addr(from), self.addr(to));
                let verb = if on { "add" } else { "del" };
                self.exec(&[
                    "rule", verb, "pref", "10", "from", &from, "to", &to, "prohibit",
                ])
                .unwrap();
            }
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_side]);
    }
}

async fn sees(r: &Replica, n: usize) -> Option<()> {
    (r.member_names().await.len() == n).then_some(())
}

fn describe(got: &[Received], since: Instant) -> String {
    got.iter()
        .map(|r| r.summary(since))
        .collect::<Vec<_>>()
        .join("\n    ")
}

fn duplicates(got: &[&Received]) -> usize {
    got.windows(2)
        .filter(|p| p[1].at.duration_since(p[0].at).as_secs_f64() < GROUP_INTERVAL / 2.0)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_sides_notify_during_a_partition_and_converge_after() {
    let hosts = [11u8, 12, 13];
    let ns = match Netns::create(&hosts) {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("skipped: cannot create a network namespace (needs root): {e}");
            return;
        }
    };
    let hook = WebhookReceiver::start_on(&format!("{}:0", ns.addr(1))).await;
    let ws = Workspace::new(&format!(
        "route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 4s
  repeat_interval: 3s
receivers:
- name: hook
  webhook_configs:
  - url: {}
    send_resolved: true
",
        hook.url("/hook")
    ));
    let mut replicas: Vec<Replica> = Vec::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let peers: Vec<String> = replicas
            .first()
            .map(|a| a.gossip.clone())
            .into_iter()
            .collect();
        let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
        let mut spec = ReplicaSpec::new(name, &peers).flags(&[
            "--cluster.peer-timeout=1s",
            "--cluster.gossip-interval=100ms",
            "--cluster.settle-timeout=5s",
        ]);
        spec.netns = Some(ns.name.clone());
        spec.gossip_listen = Some(format!("{}:0", ns.addr(hosts[i])));
        spec.web_listen = Some(format!("{}:0", ns.addr(hosts[i])));
        replicas.push(
            Replica::start(
                &spec,
                &ws.config,
                &ws.storage(name),
                Duration::from_secs(20),
            )
            .await
            .unwrap(),
        );
    }
    for r in &replicas {
        eventually("3 members", Duration::from_secs(10), || sees(r, 3))
            .await
            .unwrap();
    }
    let client = http_client();
    let firing = [alert(&[("alertname", "Net"), ("instance", "1")])];
    let since = Instant::now();
    let post = || async {
        for r in &replicas {
            post_alerts(&client, &r.base, &firing).await.unwrap();
        }
    };
    let run_for = |secs: f64| async move {
        let until = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < until {
            post().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    run_for(GROUP_INTERVAL * 2.0).await;
    let before = hook.received();
    let refs: Vec<&Received> = before.iter().collect();
    assert_eq!(duplicates(&refs), 0, "{}", describe(&before, since));

    // Partition: a | b, c.
    ns.cut(hosts[0], &hosts[1..], true);
    eventually("the sides to split", Duration::from_secs(40), || async {
        (replicas[0].member_names().await.len() == 1 && replicas[1].member_names().await.len() == 2)
            .then_some(())
    })
    .await
    .unwrap();
    let split_at = hook.received().len();
    let silence = create_silence(
        &client,
        &replicas[0].base,
        &[SilenceMatcher::parse("team=net")],
    )
    .await
    .unwrap();
    run_for(GROUP_INTERVAL * 3.0).await;
    let during = hook.received();
    let during_refs: Vec<&Received> = during[split_at..].iter().collect();
    assert!(
        duplicates(&during_refs) >= 2,
        "both sides notify while apart (fail-open):\n    {}",
        describe(&during, since)
    );

    // Heal.
    ns.cut(hosts[0], &hosts[1..], false);
    for r in &replicas {
        eventually("3 members again", Duration::from_secs(40), || sees(r, 3))
            .await
            .unwrap();
    }
    for r in &replicas[1..] {
        eventually(
            &format!("{} to get the silence made on a while apart", r.name),
            Duration::from_secs(10),
            || async {
                let s = r
                    .get_json(&format!("/api/v2/silence/{silence}"))
                    .await
                    .ok()?;
                (s["id"] == silence.as_str()).then_some(())
            },
        )
        .await
        .unwrap();
    }
    let healed_at = hook.received().len();
    run_for(GROUP_INTERVAL * 3.0).await;
    let after = hook.received();
    let after_refs: Vec<&Received> = after[healed_at..].iter().collect();
    assert!(!after_refs.is_empty(), "{}", describe(&after, since));
    assert_eq!(
        duplicates(&after_refs),
        0,
        "no duplicates once healed:\n    {}",
        describe(&after, since)
    );
}
