//! The AlertRoute resource: a routing subtree with its receivers and time intervals.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{DURATION_MESSAGE, DURATION_RULE, Matcher, ResourceStatus, SecretKeyRef};

/// A routing tree node as the renderer sees it, whatever its depth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteNode {
    /// Label matchers.
    pub matchers: Vec<Matcher>,
    /// Receiver name (of this AlertRoute's receivers); `None` inherits.
    pub receiver: Option<String>,
    /// Labels to group by.
    pub group_by: Option<Vec<String>>,
    /// Initial wait before the first notification of a group.
    pub group_wait: Option<String>,
    /// Wait between notifications of a changed group.
    pub group_interval: Option<String>,
    /// Wait before repeating an unchanged notification.
    pub repeat_interval: Option<String>,
    /// Whether later siblings are tried after a match.
    pub continue_: bool,
    /// Time intervals during which notifications are muted.
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside of which notifications are muted.
    pub active_time_intervals: Vec<String>,
    /// Child routes.
    pub routes: Vec<RouteNode>,
}

/// Defines one level of the route tree: a struct with the attributes and the fields
/// given (`before` the route fields and `after` them), the route fields every level
/// shares (matchers, receiver, grouping and timing, `continue`, time intervals), and its
/// `to_node`, which maps the children with `children`. The docs of the fields whose
/// meaning differs between the top level and the child levels are parameters.
macro_rules! route_level {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            before { $($before:tt)* }
            matchers_doc: $matchers_doc:literal,
            receiver_doc: $receiver_doc:literal,
            continue_doc: $continue_doc:literal,
            after { $($after:tt)* }
            children: $children:expr,
        }
    ) => {
        $(#[$attr])*
        pub struct $name {
            $($before)*
            #[doc = $matchers_doc]
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(length(max = 32))]
            pub matchers: Vec<Matcher>,
            #[doc = $receiver_doc]
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub receiver: Option<String>,
            /// Labels to group alerts by (`...` groups by all labels).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub group_by: Option<Vec<String>>,
            /// How long to wait before the first notification of a new group.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[x_kube(validation = Rule::new(DURATION_RULE).message(DURATION_MESSAGE))]
            #[schemars(length(max = 32))]
            pub group_wait: Option<String>,
            /// How long to wait before notifying about changes in a group.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[x_kube(validation = Rule::new(DURATION_RULE).message(DURATION_MESSAGE))]
            #[schemars(length(max = 32))]
            pub group_interval: Option<String>,
            /// How long to wait before repeating a notification.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[x_kube(validation = Rule::new(DURATION_RULE).message(DURATION_MESSAGE))]
            #[schemars(length(max = 32))]
            pub repeat_interval: Option<String>,
            #[doc = $continue_doc]
            #[serde(default, rename = "continue")]
            pub continue_: bool,
            /// Names of this AlertRoute's time intervals during which notifications are muted.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub mute_time_intervals: Vec<String>,
            /// Names of this AlertRoute's time intervals outside of which notifications are muted.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub active_time_intervals: Vec<String>,
            $($after)*
        }

        impl $name {
            /// This level as a renderer node.
            pub fn to_node(&self) -> RouteNode {
                let children: fn(&$name) -> Vec<RouteNode> = $children;
                RouteNode {
                    matchers: self.matchers.clone(),
                    receiver: self.receiver.clone(),
                    group_by: self.group_by.clone(),
                    group_wait: self.group_wait.clone(),
                    group_interval: self.group_interval.clone(),
                    repeat_interval: self.repeat_interval.clone(),
                    continue_: self.continue_,
                    mute_time_intervals: self.mute_time_intervals.clone(),
                    active_time_intervals: self.active_time_intervals.clone(),
                    routes: children(self),
                }
            }
        }
    };
}

/// Defines a child route level: the shared route fields with children of type `$child`
/// (at most `$max`), or none at the deepest level (`leaf`).
macro_rules! child_route {
    ($(#[$doc:meta])* $name:ident, leaf) => {
        child_route!(@def $(#[$doc])* $name, {}, |_| Vec::new());
    };
    ($(#[$doc:meta])* $name:ident, $child:ident, $max:literal) => {
        child_route!(@def $(#[$doc])* $name, {
            /// Child routes, tried in order.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(length(max = $max))]
            pub routes: Vec<$child>,
        }, |s| s.routes.iter().map($child::to_node).collect());
    };
    (@def $(#[$doc:meta])* $name:ident, { $($after:tt)* }, $children:expr) => {
        route_level! {
            $(#[$doc])*
            #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
            #[serde(rename_all = "camelCase")]
            pub struct $name {
                before {}
                matchers_doc: "Label matchers; all must match.",
                receiver_doc: "Name of one of this AlertRoute's receivers; empty inherits the parent's.",
                continue_doc: "Whether to keep matching later sibling routes after this one matched.",
                after { $($after)* }
                children: $children,
            }
        }
    };
}

child_route!(
    /// A child route of an AlertRoute (level 1).
    ChildRoute1, ChildRoute2, 16
);
child_route!(
    /// A child route at level 2.
    ChildRoute2, ChildRoute3, 8
);
child_route!(
    /// A child route at level 3.
    ChildRoute3, ChildRoute4, 4
);
child_route!(
    /// A child route at level 4, the deepest: it has no children.
    ChildRoute4, leaf
);

route_level! {
    /// An AlertRoute: a routing subtree for the alerts of its namespace (or of every
    /// namespace when it lives in the operator's admin namespace), with its receivers and
    /// time intervals.
    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
    #[kube(
        group = "larum.dev",
        version = "v1alpha1",
        kind = "AlertRoute",
        namespaced,
        status = "ResourceStatus",
        shortname = "ar",
        printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.conditions[?(@.type==\"Accepted\")].status"}"#,
        printcolumn = r#"{"name":"Loaded","type":"string","jsonPath":".status.conditions[?(@.type==\"Loaded\")].status"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )]
    #[serde(rename_all = "camelCase")]
    #[x_kube(cel)]
    pub struct AlertRouteSpec {
        before {
            /// Order among AlertRoutes: higher priorities are tried first; ties by namespace/name.
            #[serde(default)]
            pub priority: i32,
        }
        matchers_doc: "Label matchers; all must match (a `namespace` matcher is added outside the admin namespace).",
        receiver_doc: "Name of one of this AlertRoute's receivers; empty uses the root route's receiver.",
        continue_doc: "Whether to keep matching later AlertRoutes after this one matched.",
        after {
            /// Child routes, tried in order.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(length(max = 32))]
            pub routes: Vec<ChildRoute1>,
            /// Receivers the routes refer to by name.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(length(max = 32))]
            pub receivers: Vec<Receiver>,
            /// Named time intervals the routes refer to.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(length(max = 32))]
            pub time_intervals: Vec<TimeInterval>,
        }
        children: |s| s.routes.iter().map(ChildRoute1::to_node).collect(),
    }
}

/// A named receiver and its integrations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receiver {
    /// Name, unique within the AlertRoute.
    #[x_kube(validation = Rule::new("self != ''").message("must not be empty"))]
    pub name: String,
    /// Webhook integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Slack integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub slack_configs: Vec<SlackConfig>,
    /// PagerDuty integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// E-mail integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub email_configs: Vec<EmailConfig>,
    /// Opsgenie integrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub opsgenie_configs: Vec<OpsgenieConfig>,
}

/// A webhook: POSTs the notification as JSON to a URL.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.url) != has(self.urlSecret)").message("set exactly one of url and urlSecret"))]
pub struct WebhookConfig {
    /// The URL, when it holds no credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The Secret key holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_secret: Option<SecretKeyRef>,
    /// Whether to notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// At most this many alerts per message (0: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("must not be negative"))]
    pub max_alerts: Option<i32>,
}

/// A Slack message through an incoming webhook URL.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlackConfig {
    /// The Secret key holding the webhook URL.
    pub api_url_secret: SecretKeyRef,
    /// Channel or user to send to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Sender name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Message title (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message text (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Whether to notify about resolved alerts (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

/// A PagerDuty event (Events API v2 with a routing key, v1 with a service key).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.routingKeySecret) != has(self.serviceKeySecret)").message("set exactly one of routingKeySecret and serviceKeySecret"))]
pub struct PagerdutyConfig {
    /// The Secret key holding the Events API v2 routing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key_secret: Option<SecretKeyRef>,
    /// The Secret key holding the Events API v1 service key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key_secret: Option<SecretKeyRef>,
    /// Events API URL (default: PagerDuty's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Incident description (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Severity (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Whether to notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

/// An e-mail through an SMTP server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailConfig {
    /// Recipient addresses (comma separated).
    #[x_kube(validation = Rule::new("self != ''").message("must not be empty"))]
    pub to: String,
    /// Sender address (default: the global `smtp_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// SMTP server `host:port` (default: the global `smtp_smarthost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smarthost: Option<String>,
    /// SMTP user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// The Secret key holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password_secret: Option<SecretKeyRef>,
    /// Whether STARTTLS is required (default: the global `smtp_require_tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// Whether to notify about resolved alerts (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

/// An Opsgenie alert.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpsgenieConfig {
    /// The Secret key holding the API key.
    pub api_key_secret: SecretKeyRef,
    /// API URL (default: Opsgenie's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Alert message (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Priority, P1 to P5 (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Whether to notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

/// A named set of time intervals.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeInterval {
    /// Name the routes use.
    #[x_kube(validation = Rule::new("self != ''").message("must not be empty"))]
    pub name: String,
    /// The intervals; a time is inside when it is inside any of them.
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

/// One interval: every given field must match (an absent field matches everything).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeIntervalSpec {
    /// Times of day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub times: Vec<TimeRange>,
    /// Weekdays or ranges, e.g. `monday:friday`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    /// Days of the month or ranges, e.g. `1:5`, `-1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<String>,
    /// Months or ranges, e.g. `january:march`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
    /// Years or ranges, e.g. `2026:2027`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<String>,
    /// Time zone name (IANA), default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A time-of-day range, `HH:MM` to `HH:MM`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    /// Start, inclusive.
    #[x_kube(validation = Rule::new("self.matches('^([01][0-9]|2[0-4]):[0-5][0-9]$')").message("must be HH:MM"))]
    #[schemars(length(max = 5))]
    pub start_time: String,
    /// End, exclusive.
    #[x_kube(validation = Rule::new("self.matches('^([01][0-9]|2[0-4]):[0-5][0-9]$')").message("must be HH:MM"))]
    #[schemars(length(max = 5))]
    pub end_time: String,
}
