//! `docs/crd-reference.md` from the CRDs in `crds/` (the schemas the operator generates):
//! one section per kind with its printer columns and a table of every field with type,
//! whether required, default, limits and validation messages. `make crd-reference`
//! writes it; a test fails when it is stale.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// The markdown reference of the CRD files in `dir` (sorted by file name).
pub fn reference(dir: &Path) -> Result<String, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "# CRD reference\n\n\
         <!-- Generated from crds/*.yaml by `make crd-reference`; do not edit by hand. -->\n\n\
         Group `larum.dev`, version `v1alpha1`, all namespaced. Resources in the operator's \
         admin namespace apply to every namespace; elsewhere the operator adds a \
         `namespace=\"<their namespace>\"` matcher (see the README's install guide).\n\n",
    );
    let mut crds = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let crd: Value =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        crds.push(crd);
    }
    for crd in &crds {
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or("?");
        let _ = writeln!(out, "- [{kind}](#{})", kind.to_lowercase());
    }
    out.push('\n');
    for crd in &crds {
        section(&mut out, crd);
    }
    Ok(out)
}

fn section(out: &mut String, crd: &Value) {
    let names = &crd["spec"]["names"];
    let kind = names["kind"].as_str().unwrap_or("?");
    let group = crd["spec"]["group"].as_str().unwrap_or("?");
    let _ = writeln!(out, "## {kind}\n");
    let short: Vec<&str> = names["shortNames"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
        let v = version["name"].as_str().unwrap_or("?");
        let _ = writeln!(
            out,
            "`apiVersion: {group}/{v}`, `kind: {kind}`; `kubectl get {}`{}.\n",
            names["plural"].as_str().unwrap_or("?"),
            if short.is_empty() {
                String::new()
            } else {
                format!(" (short: `{}`)", short.join("`, `"))
            }
        );
        let schema = &version["schema"]["openAPIV3Schema"];
        let spec = &schema["properties"]["spec"];
        if let Some(d) = spec["description"].as_str() {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        if let Some(cols) = version["additionalPrinterColumns"].as_array() {
            let cols: Vec<String> = cols
                .iter()
                .map(|c| {
                    format!(
                        "{} (`{}`)",
                        c["name"].as_str().unwrap_or("?"),
                        c["jsonPath"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let _ = writeln!(out, "Columns of `kubectl get`: {}.\n", cols.join(", "));
        }
        for rule in rules(spec) {
            let _ = writeln!(out, "Rule on the whole spec: {rule}.\n");
        }
        for (part, node) in [("spec", spec), ("status", &schema["properties"]["status"])] {
            if node.is_null() {
                continue;
            }
            let _ = writeln!(out, "### {kind} `.{part}`\n");
            out.push_str("| Field | Type | Required | Description |\n|---|---|---|---|\n");
            fields(out, node, part);
            out.push('\n');
        }
    }
}

/// CEL rules and other constraints of a schema node, as text.
fn rules(node: &Value) -> Vec<String> {
    node["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["message"].as_str().map(|m| m.to_string()))
        .collect()
}

fn type_of(node: &Value) -> String {
    match node["type"].as_str() {
        Some("array") => format!("[]{}", type_of(&node["items"])),
        Some("object") if node["properties"].is_null() => {
            if node["additionalProperties"].is_object() {
                format!("map[string]{}", type_of(&node["additionalProperties"]))
            } else {
                "object".to_string()
            }
        }
        Some(t) => t.to_string(),
        None if node["x-kubernetes-int-or-string"] == true => "int or string".to_string(),
        None => "any".to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn details(node: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(d) = node["description"].as_str() {
        parts.push(one_line(d));
    }
    if !node["default"].is_null() {
        parts.push(format!("Default: `{}`.", node["default"]));
    }
    if let Some(e) = node["enum"].as_array() {
        let e: Vec<String> = e.iter().map(|v| format!("`{v}`")).collect();
        parts.push(format!("One of {}.", e.join(", ")));
    }
    for (key, label) in [
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("minimum", "min"),
        ("maximum", "max"),
    ] {
        if let Some(n) = node[key].as_i64() {
            parts.push(format!("{label} {n}."));
        }
    }
    if let Some(p) = node["pattern"].as_str() {
        parts.push(format!("Pattern `{}`.", p.replace('|', "\\|")));
    }
    for r in rules(node) {
        parts.push(format!("Rule: {}.", one_line(&r)));
    }
    parts.join(" ")
}

fn fields(out: &mut String, node: &Value, path: &str) {
    let (props, required, elem) = if node["type"] == "array" {
        let items = &node["items"];
        (&items["properties"], &items["required"], "[]")
    } else {
        (&node["properties"], &node["required"], "")
    };
    let Some(props) = props.as_object() else {
        return;
    };
    let required: Vec<&str> = required
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, child) in props {
        let p = format!("{path}{elem}.{name}");
        let _ = writeln!(
            out,
            "| `{p}` | {} | {} | {} |",
            type_of(child).replace('|', "\\|"),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                ""
            },
            details(child)
        );
        // Child routes repeat the route's fields at every depth: describe them once.
        if name == "routes" && path.contains(".routes[]") {
            let _ = writeln!(
                out,
                "| `{p}[].…` | | | The same fields as `{}[]`, one level deeper. |",
                &p[..p.find(".routes[]").unwrap_or(0) + ".routes".len()]
            );
            continue;
        }
        fields(out, child, &p);
    }
}
