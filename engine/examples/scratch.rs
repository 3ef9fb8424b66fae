use larum_engine::config::*;
fn main() {
    for y in [
        "route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n- name: a\n",
        "route:\n  receiver: a\n  routes:\n  - receiver: a\n  - group_wait: 1m\n    bogus: 1\nreceivers:\n- name: a\n",
        "x: &b\n  group_wait: 2m\nroute:\n  <<: *b\n  receiver: a\nreceivers:\n- name: a\n",
        "route:\n  receiver: a\n  routes:\n  - receiver: b\nreceivers:\n- name: a\n",
        "route: [1]\n",
        "route:\n  receiver: a\n  group_wait: 1m\nreceivers:\n- name: a\n",
    ] {
        match Config::parse(y, ParseOptions::default()) {
            Ok(c) => println!("OK\n{}", c.to_yaml()),
            Err(e) => println!("ERR {e}\n   path={:?} msg={:?}", e.path, e.message),
        }
    }
}
