//! `larum-engine routes show|test`: the routing tree and where labels are routed,
//! printed like `amtool config routes show|test`.

use crate::dispatch::RouteNode;

const SEPARATOR: &str = "  ";

fn slug(node: &RouteNode, show_continue: bool, show_receiver: bool) -> String {
    let mut s = if node.matchers.is_empty() {
        "default-route".to_string()
    } else {
        node.matchers_string()
    };
    if show_continue && node.continue_matching {
        s.push_str(SEPARATOR);
        s.push_str("continue: true");
    }
    if show_receiver {
        s.push_str(SEPARATOR);
        s.push_str("receiver: ");
        s.push_str(&node.opts.receiver);
    }
    s
}

/// A tree of text lines, drawn with box-drawing branches like amtool's output.
struct TextTree {
    label: String,
    children: Vec<TextTree>,
}

impl TextTree {
    fn render(&self, out: &mut String, prefix: &str, last: bool) {
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&self.label);
        out.push('\n');
        // amtool (treeprint) indents under a non-last branch with two no-break spaces.
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
        for (i, child) in self.children.iter().enumerate() {
            child.render(out, &child_prefix, i + 1 == self.children.len());
        }
    }
}

fn render_root(tree: &TextTree) -> String {
    let mut out = String::from(".\n");
    tree.render(&mut out, "", true);
    out
}

/// `routes show`: the whole tree with receivers and `continue`.
pub fn show(root: &RouteNode) -> String {
    fn build(node: &RouteNode) -> TextTree {
        TextTree {
            label: slug(node, true, true),
            children: node.routes.iter().map(build).collect(),
        }
    }
    format!("Routing tree:\n{}\n", render_root(&build(root)))
}

/// `routes test`: the receivers the labels are routed to, comma-separated in tree order.
pub fn test(root: &RouteNode, labels: &[(String, String)]) -> String {
    let get = |name: &str| {
        labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    root.route(&get)
        .iter()
        .map(|n| n.opts.receiver.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `name=value` arguments into labels, rejecting other matcher types.
pub fn parse_labels(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::with_capacity(args.len());
    for arg in args {
        let matchers = crate::config::matcher::parse_matchers(arg)
            .map_err(|e| format!("Failed to parse labels: {e}"))?;
        for m in matchers {
            if m.match_type != crate::config::matcher::MatchType::Equal {
                return Err("Labels must be specified as key=value pairs".to_string());
            }
            labels.retain(|(k, _): &(String, String)| *k != m.name);
            labels.push((m.name, m.value));
        }
    }
    Ok(labels)
}

/// `routes test --tree`: the branches the labels travel through.
pub fn matching_tree(root: &RouteNode, labels: &[(String, String)]) -> String {
    fn build<'a>(node: &RouteNode, get: &impl Fn(&str) -> Option<&'a str>) -> TextTree {
        let mut children = Vec::new();
        for child in &node.routes {
            if child.matches_labels(get) {
                children.push(build(child, get));
                if !child.continue_matching {
                    break;
                }
            }
        }
        let label = slug(node, false, children.is_empty());
        TextTree { label, children }
    }
    let get = |name: &str| {
        labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    format!("Matching routes:\n{}\n", render_root(&build(root, &get)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ParseOptions};

    const CONFIG: &str = r#"
route:
  receiver: a
  routes:
  - match: {team: db}
    receiver: b
    continue: true
    routes:
    - match: {x: y}
      receiver: a
  - match: {team: db}
    receiver: a
receivers: [{name: a}, {name: b}]
"#;

    fn root() -> RouteNode {
        RouteNode::new(
            Config::parse(CONFIG, ParseOptions::default())
                .unwrap()
                .root_route(),
        )
    }

    #[test]
    fn show_draws_the_tree_like_amtool() {
        let expected = "Routing tree:\n.\n└── default-route  receiver: a\n    ├── {team=\"db\"}  continue: true  receiver: b\n    │\u{a0}\u{a0} └── {x=\"y\"}  receiver: a\n    └── {team=\"db\"}  receiver: a\n\n";
        assert_eq!(show(&root()), expected);
    }

    #[test]
    fn test_lists_receivers_in_order() {
        let labels = vec![
            ("team".to_string(), "db".to_string()),
            ("x".to_string(), "y".to_string()),
        ];
        assert_eq!(test(&root(), &labels), "a,a");
        assert_eq!(
            test(&root(), &[("team".to_string(), "web".to_string())]),
            "a"
        );
        let tree = matching_tree(&root(), &labels);
        assert!(
            tree.contains("├── {team=\"db\"}\n    │\u{a0}\u{a0} └── {x=\"y\"}  receiver: a\n"),
            "{tree}"
        );
    }
}
