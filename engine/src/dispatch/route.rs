//! The routing tree with inheritance resolved: each node knows its receiver, grouping
//! and timers, and matching follows upstream (`continue`, first match wins otherwise).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::config::Route;
use crate::config::matcher::{MatchType, Matcher};
use crate::config::route::GROUP_BY_ALL;

/// Options a route node applies to the alerts it matches, after inheritance.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteOpts {
    /// Receiver name.
    pub receiver: String,
    /// Labels to group by (when `group_by_all` is false).
    pub group_by: BTreeSet<String>,
    /// Whether every label is a grouping label (`group_by: ['...']`).
    pub group_by_all: bool,
    /// Wait before the first notification of a group.
    pub group_wait: Duration,
    /// Wait between notifications about changes of a group.
    pub group_interval: Duration,
    /// Wait before repeating an unchanged notification.
    pub repeat_interval: Duration,
    /// Time intervals muting this node.
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside of which this node is muted.
    pub active_time_intervals: Vec<String>,
    /// Labels attached by the route and its ancestors.
    pub labels: BTreeMap<String, String>,
}

impl Default for RouteOpts {
    fn default() -> Self {
        RouteOpts {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            labels: BTreeMap::new(),
        }
    }
}

/// One node of the resolved routing tree.
#[derive(Clone, Debug)]
pub struct RouteNode {
    /// Options after inheritance from the ancestors.
    pub opts: RouteOpts,
    /// All matchers of the node (`match`, `match_re` and `matchers`), sorted like upstream.
    pub matchers: Vec<Matcher>,
    /// Whether matching continues with the next sibling.
    pub continue_matching: bool,
    /// Children, in config order.
    pub routes: Vec<RouteNode>,
    /// Position in a depth-first, children-first numbering of the tree (upstream's `Idx`).
    pub idx: usize,
    /// Upstream's route key: the matchers of the ancestors and of the node, joined by `/`.
    /// Group keys start with it.
    pub key: String,
    /// Upstream's route ID: like the key, with each node's position among its siblings.
    pub id: String,
}

fn match_type_rank(t: MatchType) -> u8 {
    match t {
        MatchType::Equal => 0,
        MatchType::NotEqual => 1,
        MatchType::Regexp => 2,
        MatchType::NotRegexp => 3,
    }
}

impl RouteNode {
    /// Builds the tree from a validated config's root route.
    pub fn new(root: &Route) -> RouteNode {
        let mut counter = 0;
        let mut node = RouteNode::build(root, &RouteOpts::default(), &mut counter);
        node.assign_keys(None);
        node
    }

    /// Computes `key` and `id` of this node and its descendants; `parent` is the parent's
    /// (key, id) and this node's position among its siblings.
    fn assign_keys(&mut self, parent: Option<(&str, &str, usize)>) {
        let matchers = self.matchers_string();
        (self.key, self.id) = match parent {
            None => (matchers.clone(), matchers),
            Some((key, id, pos)) => (
                format!("{key}/{matchers}"),
                format!("{id}/{matchers}/{pos}"),
            ),
        };
        let (key, id) = (self.key.clone(), self.id.clone());
        for (pos, child) in self.routes.iter_mut().enumerate() {
            child.assign_keys(Some((&key, &id, pos)));
        }
    }

    /// Every node of the tree, parent before children (upstream's `Walk`).
    pub fn walk(&self) -> Vec<&RouteNode> {
        let mut out = Vec::new();
        self.walk_into(&mut out);
        out
    }

    fn walk_into<'s>(&'s self, out: &mut Vec<&'s RouteNode>) {
        out.push(self);
        for child in &self.routes {
            child.walk_into(out);
        }
    }

    fn build(route: &Route, parent: &RouteOpts, counter: &mut usize) -> RouteNode {
        let mut opts = parent.clone();
        opts.labels
            .extend(route.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(receiver) = route.receiver.as_deref().filter(|r| !r.is_empty()) {
            opts.receiver = receiver.to_string();
        }
        if let Some(group_by) = &route.group_by {
            if route.groups_by_all() {
                opts.group_by_all = true;
                opts.group_by.clear();
            } else {
                opts.group_by = group_by
                    .iter()
                    .filter(|l| *l != GROUP_BY_ALL)
                    .cloned()
                    .collect();
                opts.group_by_all = false;
            }
        }
        if let Some(d) = route.group_wait {
            opts.group_wait = d.std();
        }
        if let Some(d) = route.group_interval {
            opts.group_interval = d.std();
        }
        if let Some(d) = route.repeat_interval {
            opts.repeat_interval = d.std();
        }
        opts.mute_time_intervals = route.mute_time_intervals.clone();
        opts.active_time_intervals = route.active_time_intervals.clone();

        let mut matchers: Vec<Matcher> = Vec::new();
        for (name, value) in &route.match_labels {
            if let Ok(m) = Matcher::new(name, value, MatchType::Equal) {
                matchers.push(m);
            }
        }
        for (name, regex) in &route.match_re.0 {
            // Upstream turns a match_re entry into a matcher whose value is the anchored
            // expression, and prints it that way; matching is the same either way.
            let anchored = format!("^(?:{})$", regex.as_str());
            if let Ok(m) = Matcher::new(name, &anchored, MatchType::Regexp) {
                matchers.push(m);
            }
        }
        matchers.extend(route.matchers.0.iter().cloned());
        matchers.sort_by(|a, b| {
            (
                a.name.as_str(),
                a.value.as_str(),
                match_type_rank(a.match_type),
            )
                .cmp(&(
                    b.name.as_str(),
                    b.value.as_str(),
                    match_type_rank(b.match_type),
                ))
        });

        let routes = route
            .routes
            .iter()
            .map(|child| RouteNode::build(child, &opts, counter))
            .collect();
        let idx = *counter;
        *counter += 1;
        RouteNode {
            opts,
            matchers,
            continue_matching: route.continue_matching,
            routes,
            idx,
            key: String::new(),
            id: String::new(),
        }
    }

    /// Whether this node's own matchers accept the labels (`get` returns a label's value).
    pub fn matches_labels<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches(get(&m.name).unwrap_or("")))
    }

    /// The nodes an alert with these labels is routed to, in tree order: the deepest
    /// matching nodes, several when `continue` is set; empty when this node does not match.
    pub fn route<'s, 'a>(&'s self, get: &impl Fn(&str) -> Option<&'a str>) -> Vec<&'s RouteNode> {
        let mut found = Vec::new();
        self.route_into(get, &mut found);
        found
    }

    fn route_into<'s, 'a>(
        &'s self,
        get: &impl Fn(&str) -> Option<&'a str>,
        found: &mut Vec<&'s RouteNode>,
    ) -> bool {
        if !self.matches_labels(get) {
            return false;
        }
        let before = found.len();
        for child in &self.routes {
            if child.route_into(get, found) && !child.continue_matching {
                break;
            }
        }
        if found.len() == before {
            found.push(self);
        }
        true
    }

    /// The node's matchers as upstream prints them: `{a="b",c=~"d"}`.
    pub fn matchers_string(&self) -> String {
        let mut s = String::from("{");
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{m}");
        }
        s.push('}');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ParseOptions};

    fn tree(yaml: &str) -> RouteNode {
        let config = Config::parse(yaml, ParseOptions::default()).expect("valid config");
        RouteNode::new(config.root_route())
    }

    fn receivers(node: &RouteNode, labels: &[(&str, &str)]) -> Vec<String> {
        let get = |name: &str| labels.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        node.route(&get)
            .into_iter()
            .map(|n| n.opts.receiver.clone())
            .collect()
    }

    const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
  - match: {team: db}
    receiver: db
    continue: true
    group_by: ['...']
  - match_re: {team: "db|web"}
    receiver: web
    repeat_interval: 1h
    routes:
    - match: {severity: critical}
      receiver: web-pager
  - receiver: catchall
    group_by: []
receivers:
- name: default
- name: db
- name: web
- name: web-pager
- name: catchall
"#;

    #[test]
    fn first_match_wins_unless_continue() {
        let root = tree(CONFIG);
        assert_eq!(receivers(&root, &[("team", "db")]), ["db", "web"]);
        assert_eq!(
            receivers(&root, &[("team", "web"), ("severity", "critical")]),
            ["web-pager"]
        );
        assert_eq!(receivers(&root, &[("team", "web")]), ["web"]);
        assert_eq!(receivers(&root, &[("team", "other")]), ["catchall"]);
    }

    #[test]
    fn options_are_inherited_and_overridden() {
        let root = tree(CONFIG);
        assert_eq!(root.opts.group_wait, Duration::from_secs(10));
        assert_eq!(root.opts.group_interval, Duration::from_secs(300));
        let db = &root.routes[0];
        assert!(db.opts.group_by_all);
        let pager = &root.routes[1].routes[0];
        assert_eq!(pager.opts.repeat_interval, Duration::from_secs(3600));
        assert_eq!(pager.opts.group_wait, Duration::from_secs(10));
        assert_eq!(
            pager.opts.group_by,
            BTreeSet::from(["alertname".to_string()])
        );
        assert!(root.routes[2].opts.group_by.is_empty());
        // Children are numbered before their parent, like upstream.
        assert_eq!((pager.idx, root.routes[1].idx, root.idx), (1, 2, 4));
    }

    #[test]
    fn keys_and_ids_follow_upstream() {
        let root = tree(CONFIG);
        assert_eq!(root.key, "{}");
        assert_eq!(root.id, "{}");
        let pager = &root.routes[1].routes[0];
        assert_eq!(
            pager.key,
            "{}/{team=~\"^(?:db|web)$\"}/{severity=\"critical\"}"
        );
        assert_eq!(
            pager.id,
            "{}/{team=~\"^(?:db|web)$\"}/1/{severity=\"critical\"}/0"
        );
        assert_eq!(root.routes[2].id, "{}/{}/2");
        assert_eq!(root.walk().len(), 5);
    }
}
