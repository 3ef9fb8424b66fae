//! Cluster add-ons: CoreDNS (image larum.local/coredns, built by scripts/node-images.sh)
//! as a Deployment with the `kube-dns` Service on 10.96.0.10, and its RBAC. It runs as
//! non-root under the restricted Pod Security profile, listening on 1053 (the Service
//! maps port 53 to it). There is no upstream resolver: names outside cluster.local fail.

use super::{CLUSTER_DOMAIN, COREDNS_IMAGE, DNS_SERVICE_IP};

/// The CoreDNS manifests (a multi-document YAML stream).
pub(crate) fn coredns_manifests() -> String {
    format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: coredns
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:coredns
subjects:
- kind: ServiceAccount
  name: coredns
  namespace: kube-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:1053 {{
        errors
        health :8080
        ready :8181
        kubernetes {domain} in-addr.arpa ip6.arpa {{
            pods insecure
            ttl 5
        }}
        cache 5
        reload
    }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 1
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: coredns
        image: {image}
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {{name: dns, containerPort: 1053, protocol: UDP}}
        - {{name: dns-tcp, containerPort: 1053, protocol: TCP}}
        readinessProbe:
          httpGet: {{path: /ready, port: 8181}}
          periodSeconds: 1
        livenessProbe:
          httpGet: {{path: /health, port: 8080}}
          periodSeconds: 10
          failureThreshold: 5
        resources:
          requests: {{cpu: 10m, memory: 32Mi}}
          limits: {{memory: 128Mi}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [ALL]
        volumeMounts:
        - {{name: config, mountPath: /etc/coredns, readOnly: true}}
      volumes:
      - name: config
        configMap:
          name: coredns
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  selector:
    k8s-app: kube-dns
  clusterIP: {ip}
  ports:
  - {{name: dns, port: 53, targetPort: 1053, protocol: UDP}}
  - {{name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}}
"#,
        domain = CLUSTER_DOMAIN,
        image = COREDNS_IMAGE,
        ip = DNS_SERVICE_IP,
    )
}
