#![allow(clippy::unwrap_used)]
//! End to end: changing other AlertRoutes reloads every engine, but a group that is
//! waiting under an unchanged route keeps its timer: its first notification comes
//! `group_wait` after the alert arrived, not after the last reload (upstream issues
//! 3407 and 4064).

mod e2e;

use std::time::{Duration, Instant};

use e2e::support::alerts::alert;
use e2e::{Env, EnvSpec, alert_route_with_secret_url};

const GROUP_WAIT: Duration = Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changing_other_routes_does_not_reset_a_waiting_groups_timer() {
    let env = Env::start(EnvSpec::default()).await;
    let routes = env.alert_routes("team-a");
    env.apply(&alert_route_with_secret_url(
        &env,
        "team-a",
        "slow",
        &[("service", "=", "slow")],
        "12s",
        "/slow",
    ));
    env.wait_condition(&routes, "slow", "Loaded", "True", Duration::from_secs(30))
        .await;

    let arrived = Instant::now();
    env.post_to_all(&[alert(&[
        ("alertname", "SlowGroup"),
        ("service", "slow"),
        ("namespace", "team-a"),
    ])])
    .await;
    // Two reloads while the group waits: a new route, then a change to it.
    let mut other = alert_route_with_secret_url(
        &env,
        "team-a",
        "other",
        &[("service", "=", "other")],
        "1s",
        "/other",
    );
    env.apply(&other);
    env.wait_condition(&routes, "other", "Loaded", "True", Duration::from_secs(10))
        .await;
    // The second reload halfway through the wait, so that a timer restarted by it would
    // fire seconds after the original one.
    tokio::time::sleep_until((arrived + GROUP_WAIT / 2).into()).await;
    other["spec"]["groupWait"] = serde_json::json!("2s");
    env.apply(&other);
    env.wait_condition(&routes, "other", "Loaded", "True", Duration::from_secs(10))
        .await;
    let last_reload = Instant::now();
    assert!(
        last_reload < arrived + GROUP_WAIT - Duration::from_secs(3),
        "the reloads took too long to test anything ({:?})",
        last_reload - arrived
    );

    let got = env
        .hook
        .wait_for(
            "the SlowGroup notification",
            Duration::from_secs(40),
            arrived,
            |r| r.iter().any(|r| r.path == "/slow"),
        )
        .await
        .unwrap();
    let first = got.iter().find(|r| r.path == "/slow").unwrap();
    let after = first.at - arrived;
    // Not early, and well before a timer restarted by the last reload would fire.
    assert!(
        after >= GROUP_WAIT - Duration::from_millis(500),
        "notified early, after {after:?}"
    );
    let reset_would_fire = last_reload + GROUP_WAIT - arrived;
    assert!(
        after + Duration::from_secs(3) < reset_would_fire,
        "notified after {after:?}: the timer was reset by a reload (a reset timer fires after {reset_would_fire:?})"
    );
    // And only once, from one replica.
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        env.hook.received_on("/slow").len(),
        1,
        "{:?}",
        env.hook
            .received_on("/slow")
            .iter()
            .map(|r| r.summary(arrived))
            .collect::<Vec<_>>()
    );
}
