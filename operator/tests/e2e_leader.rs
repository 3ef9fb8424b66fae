#![allow(clippy::unwrap_used)]
//! End to end: two operator replicas elect a leader through a Lease; when the leader is
//! killed, the other takes over and reconciles a change made in the meantime.

mod e2e;

use std::time::Duration;

use e2e::support::cluster::eventually;
use e2e::{Env, EnvSpec, alert_route_with_secret_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_second_operator_takes_over_when_the_leader_is_killed() {
    let mut env = Env::start(EnvSpec {
        operators: 2,
        engines: 0,
        ..EnvSpec::default()
    })
    .await;
    let routes = env.alert_routes("team-a");
    env.apply(&alert_route_with_secret_url(
        &env,
        "team-a",
        "first",
        &[("service", "=", "first")],
        "1s",
        "/first",
    ));
    env.wait_condition(
        &routes,
        "first",
        "Accepted",
        "True",
        Duration::from_secs(30),
    )
    .await;

    let leader = env.lease_holder().await.expect("a Lease holder");
    let index = env
        .operators
        .iter()
        .position(|o| o.identity == leader)
        .expect("the holder is one of ours");
    env.operators[index].process.stop();
    let survivor = env.operators[1 - index].identity.clone();

    // A change made while nobody leads.
    env.apply(&alert_route_with_secret_url(
        &env,
        "team-a",
        "second",
        &[("service", "=", "second")],
        "1s",
        "/second",
    ));
    env.wait_condition(
        &routes,
        "second",
        "Accepted",
        "True",
        Duration::from_secs(60),
    )
    .await;
    let holder = eventually(
        "the survivor to hold the Lease",
        Duration::from_secs(10),
        || async { env.lease_holder().await.filter(|h| *h == survivor) },
    )
    .await;
    assert!(
        holder.is_ok(),
        "{holder:?}; operator logs:\n{}",
        env.operator_logs()
    );
    let rendered = env.rendered_config().await;
    assert!(
        rendered.contains(&env.hook.url("/second")),
        "the survivor rendered the change:\n{rendered}"
    );
    assert!(rendered.contains(&env.hook.url("/first")), "{rendered}");
}
