//! The engine replicas: their running config hash (`alertmanager_config_hash` in
//! `/metrics`) and how many alerts each silence mutes. Behind a trait so the
//! controller can be tested without engines.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, Client};

use super::status::ReplicaHash;

/// Where the controller learns what the engine replicas run.
pub trait ReplicaSource: Send + Sync {
    /// Every replica's config hash; `Err` when the replicas cannot be listed.
    fn config_hashes(&self) -> BoxFuture<'_, Result<Vec<ReplicaHash>, String>>;

    /// Per silence ID, how many alerts it mutes now; `None` when unknown.
    fn muted_counts(&self) -> BoxFuture<'_, Option<BTreeMap<String, i32>>>;
}

/// No engine Service configured: `Loaded` stays Unknown.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReplicas;

impl ReplicaSource for NoReplicas {
    fn config_hashes(&self) -> BoxFuture<'_, Result<Vec<ReplicaHash>, String>> {
        Box::pin(async { Err("no engine Service configured (--engine-service)".to_string()) })
    }

    fn muted_counts(&self) -> BoxFuture<'_, Option<BTreeMap<String, i32>>> {
        Box::pin(async { None })
    }
}

/// Reads `alertmanager_config_hash` from a `/metrics` text (Prometheus or OpenMetrics).
pub fn parse_config_hash(text: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("alertmanager_config_hash")?;
        let rest = if let Some(r) = rest.strip_prefix('{') {
            r.split_once('}')?.1
        } else {
            rest
        };
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Counts, per silence ID, the alerts listing it in `status.silencedBy` (API v2 `/alerts`).
pub fn count_muted(alerts: &serde_json::Value) -> BTreeMap<String, i32> {
    let mut counts = BTreeMap::new();
    for alert in alerts.as_array().into_iter().flatten() {
        for id in alert["status"]["silencedBy"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = id.as_str() {
                *counts.entry(id.to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Engine replicas found through a (headless) Service's EndpointSlices.
#[derive(Clone)]
pub struct EndpointSliceReplicas {
    client: Client,
    namespace: String,
    service: String,
    port_name: String,
    default_port: u16,
    path_prefix: String,
    http: reqwest::Client,
}

impl EndpointSliceReplicas {
    /// Replicas behind `namespace/service`; the port named `port_name` (else `default_port`).
    pub fn new(
        client: Client,
        namespace: &str,
        service: &str,
        port_name: &str,
        default_port: u16,
        path_prefix: &str,
    ) -> Result<Self, reqwest::Error> {
        // reqwest is built without a default crypto provider; kube uses ring too.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        Ok(EndpointSliceReplicas {
            client,
            namespace: namespace.to_string(),
            service: service.to_string(),
            port_name: port_name.to_string(),
            default_port,
            path_prefix: path_prefix.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// `http://ADDRESS` + the engine's path prefix + `path`.
    pub fn url(&self, address: &str, path: &str) -> String {
        format!("http://{address}{}{path}", self.path_prefix)
    }

    /// `ip:port` of every endpoint that is not known to be unready.
    pub async fn addresses(&self) -> Result<Vec<String>, kube::Error> {
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.namespace);
        let lp =
            ListParams::default().labels(&format!("kubernetes.io/service-name={}", self.service));
        let mut out = Vec::new();
        for slice in api.list(&lp).await? {
            let port = slice
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(self.port_name.as_str()))
                .and_then(|p| p.port)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(self.default_port);
            for ep in slice.endpoints.iter().flatten() {
                let ready = ep.conditions.as_ref().and_then(|c| c.ready);
                if ready == Some(false) {
                    continue;
                }
                for addr in &ep.addresses {
                    let host = if addr.contains(':') {
                        format!("[{addr}]")
                    } else {
                        addr.clone()
                    };
                    out.push(format!("{host}:{port}"));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn hash_of(&self, address: &str) -> Result<f64, String> {
        let resp = self
            .http
            .get(self.url(address, "/metrics"))
            .send()
            .await
            .map_err(|e| format!("scraping {address}: {e}"))?;
        let text = resp
            .text()
            .await
            .map_err(|e| format!("reading {address}/metrics: {e}"))?;
        parse_config_hash(&text)
            .ok_or_else(|| format!("{address}/metrics has no alertmanager_config_hash"))
    }
}

impl ReplicaSource for EndpointSliceReplicas {
    fn config_hashes(&self) -> BoxFuture<'_, Result<Vec<ReplicaHash>, String>> {
        Box::pin(async move {
            let addresses = self.addresses().await.map_err(|e| {
                format!(
                    "listing EndpointSlices of {}/{}: {e}",
                    self.namespace, self.service
                )
            })?;
            let hashes = futures::future::join_all(addresses.iter().map(|a| self.hash_of(a))).await;
            Ok(addresses
                .into_iter()
                .zip(hashes)
                .map(|(address, hash)| ReplicaHash { address, hash })
                .collect())
        })
    }

    fn muted_counts(&self) -> BoxFuture<'_, Option<BTreeMap<String, i32>>> {
        Box::pin(async move {
            // Silences are replicated: any one replica's view will do.
            let address = self.addresses().await.ok()?.into_iter().next()?;
            let resp = self
                .http
                .get(self.url(&address, "/api/v2/alerts"))
                .send()
                .await
                .ok()?;
            let alerts: serde_json::Value = resp.json().await.ok()?;
            Some(count_muted(&alerts))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    #[tokio::test]
    async fn replicas_are_the_ready_endpoints_of_the_service_on_its_named_port() {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.unwrap();
            let uri = request.uri().to_string();
            let list = serde_json::json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList", "metadata": {},
                "items": [{
                    "metadata": {"name": "engine-abc", "namespace": "larum-system"},
                    "addressType": "IPv4",
                    "ports": [{"name": "cluster", "port": 9094}, {"name": "http", "port": 9093}],
                    "endpoints": [
                        {"addresses": ["10.0.0.2"], "conditions": {"ready": true}},
                        {"addresses": ["10.0.0.1"]},
                        {"addresses": ["10.0.0.3"], "conditions": {"ready": false}}
                    ]
                }]
            });
            send.send_response(
                Response::builder()
                    .body(Body::from(serde_json::to_vec(&list).unwrap()))
                    .unwrap(),
            );
            uri
        });
        let client = Client::new(service, "default");
        let replicas =
            EndpointSliceReplicas::new(client, "larum-system", "engine", "http", 1, "/am/")
                .unwrap();
        let addresses = replicas.addresses().await.unwrap();
        assert_eq!(addresses, ["10.0.0.1:9093", "10.0.0.2:9093"]);
        // Under the engine's route prefix, without a doubled slash.
        assert_eq!(
            replicas.url(&addresses[0], "/metrics"),
            "http://10.0.0.1:9093/am/metrics"
        );
        let uri = server.await.unwrap();
        assert!(
            uri.starts_with("/apis/discovery.k8s.io/v1/namespaces/larum-system/endpointslices?"),
            "{uri}"
        );
        assert!(
            uri.contains("labelSelector=kubernetes.io%2Fservice-name%3Dengine"),
            "{uri}"
        );
    }

    #[test]
    fn config_hash_from_metrics_text() {
        let text = "# HELP alertmanager_config_hash Hash of the currently loaded alertmanager configuration.\n\
                    # TYPE alertmanager_config_hash gauge\n\
                    alertmanager_config_hash 2.0473203263456e+14\n\
                    alertmanager_config_last_reload_successful 1\n";
        assert_eq!(parse_config_hash(text), Some(2.0473203263456e14));
        assert_eq!(
            parse_config_hash("alertmanager_config_hash{a=\"b\"} 42\n"),
            Some(42.0)
        );
        assert_eq!(
            parse_config_hash("alertmanager_config_hash_other 1\n"),
            None
        );
        assert_eq!(parse_config_hash("up 1\n"), None);
    }

    #[test]
    fn muted_counts_per_silence() {
        let alerts = serde_json::json!([
            {"status": {"silencedBy": ["a", "b"]}},
            {"status": {"silencedBy": ["a"]}},
            {"status": {"silencedBy": []}}
        ]);
        let counts = count_muted(&alerts);
        assert_eq!(counts.get("a"), Some(&2));
        assert_eq!(counts.get("b"), Some(&1));
        assert_eq!(counts.len(), 2);
    }
}
