{{/* Chart name, truncated for DNS labels. */}}
{{- define "larum.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified release name; the prefix of every object. */}}
{{- define "larum.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "larum.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "larum.labels" -}}
helm.sh/chart: {{ include "larum.chart" . }}
app.kubernetes.io/part-of: {{ include "larum.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Names of the engine's objects. */}}
{{- define "larum.engine.fullname" -}}{{ include "larum.fullname" . }}-engine{{- end -}}
{{- define "larum.engine.headless" -}}{{ include "larum.fullname" . }}-engine-cluster{{- end -}}
{{- define "larum.engine.configSecret" -}}{{ include "larum.fullname" . }}-engine-config{{- end -}}
{{- define "larum.engine.clusterKeySecret" -}}{{ include "larum.fullname" . }}-cluster-key{{- end -}}
{{- define "larum.engine.serviceAccount" -}}
{{- default (include "larum.engine.fullname" .) .Values.alertmanager.serviceAccount.name -}}
{{- end -}}

{{/* Names of the operator's objects. */}}
{{- define "larum.operator.fullname" -}}{{ include "larum.fullname" . }}-operator{{- end -}}
{{- define "larum.operator.serviceAccount" -}}
{{- default (include "larum.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "larum.engine.selectorLabels" -}}
app.kubernetes.io/name: larum-engine
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "larum.operator.selectorLabels" -}}
app.kubernetes.io/name: larum-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* image: repository:tag or @digest; the tag defaults to the chart's appVersion. */}}
{{- define "larum.image" -}}
{{- $img := .image -}}
{{- $repo := $img.repository -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $img.repository }}{{ end -}}
{{- if $img.sha -}}
{{ $repo }}@{{ $img.sha }}
{{- else -}}
{{ $repo }}:{{ default .root.Chart.AppVersion $img.tag }}
{{- end -}}
{{- end -}}

{{/* The engine's peer list: one --cluster.peer per replica (stable DNS names of the
     StatefulSet's pods behind the headless Service). */}}
{{- define "larum.engine.peers" -}}
{{- $sts := include "larum.engine.fullname" . -}}
{{- $svc := include "larum.engine.headless" . -}}
{{- $ns := .Release.Namespace -}}
{{- $domain := .Values.clusterDomain -}}
{{- range $i := until (int .Values.alertmanager.alertmanagerSpec.replicas) }}
- --cluster.peer={{ $sts }}-{{ $i }}.{{ $svc }}.{{ $ns }}.svc{{ if $domain }}.{{ $domain }}{{ end }}:9094
{{- end }}
{{- end -}}

{{/* The engine's HTTP path prefix (no trailing slash): --web.route-prefix, else the path
     of --web.external-url, as the engine derives it. */}}
{{- define "larum.engine.pathPrefix" -}}
{{- $s := .Values.alertmanager.alertmanagerSpec -}}
{{- $p := $s.routePrefix -}}
{{- if and (not $p) $s.externalUrl -}}{{- $p = (urlParse $s.externalUrl).path -}}{{- end -}}
{{- trimSuffix "/" $p -}}
{{- end -}}
