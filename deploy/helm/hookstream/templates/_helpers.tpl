{{/* Chart name (or nameOverride), truncated to the 63 characters Kubernetes allows. */}}
{{- define "hookstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's resources: fullnameOverride, or <release>-<name> (just <release> when it holds the name). */}}
{{- define "hookstream.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The pods' ServiceAccount name. */}}
{{- define "hookstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hookstream.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret the chart creates with secrets.create (non-production). */}}
{{- define "hookstream.generatedSecretName" -}}
{{- include "hookstream.fullname" . }}-secrets
{{- end -}}

{{/*
The Secret holding the master key: secrets.masterKey.existingSecret, or the
generated one with secrets.create. Fails the render with what to do otherwise.
*/}}
{{- define "hookstream.masterKeySecret" -}}
{{- if .Values.secrets.masterKey.existingSecret -}}
{{- .Values.secrets.masterKey.existingSecret -}}
{{- else if .Values.secrets.create -}}
{{- $_ := required "secrets.masterKeyValue is required with secrets.create=true (base64 of 32 bytes: openssl rand -base64 32)" .Values.secrets.masterKeyValue -}}
{{- include "hookstream.generatedSecretName" . -}}
{{- else -}}
{{- required "secrets.masterKey.existingSecret is required: create it with `kubectl create secret generic hookstream-master-key --from-literal=master-key=$(openssl rand -base64 32)` and pass --set secrets.masterKey.existingSecret=hookstream-master-key (or, not for production, secrets.create=true with secrets.masterKeyValue)" "" -}}
{{- end -}}
{{- end -}}

{{/* The Secret key of the master key. */}}
{{- define "hookstream.masterKeyKey" -}}
{{- if .Values.secrets.masterKey.existingSecret -}}{{ .Values.secrets.masterKey.key }}{{- else -}}master-key{{- end -}}
{{- end -}}

{{/* The Secret holding the control token, as hookstream.masterKeySecret. */}}
{{- define "hookstream.controlTokenSecret" -}}
{{- if .Values.secrets.controlToken.existingSecret -}}
{{- .Values.secrets.controlToken.existingSecret -}}
{{- else if .Values.secrets.create -}}
{{- $_ := required "secrets.controlTokenValue is required with secrets.create=true (openssl rand -hex 32)" .Values.secrets.controlTokenValue -}}
{{- include "hookstream.generatedSecretName" . -}}
{{- else -}}
{{- required "secrets.controlToken.existingSecret is required: create it with `kubectl create secret generic hookstream-control-token --from-literal=token=$(openssl rand -hex 32)` and pass --set secrets.controlToken.existingSecret=hookstream-control-token (or, not for production, secrets.create=true with secrets.controlTokenValue)" "" -}}
{{- end -}}
{{- end -}}

{{/* The Secret key of the control token. */}}
{{- define "hookstream.controlTokenKey" -}}
{{- if .Values.secrets.controlToken.existingSecret -}}{{ .Values.secrets.controlToken.key }}{{- else -}}token{{- end -}}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "hookstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: hookstream
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one service: call with (dict "root" $ "name" $name). */}}
{{- define "hookstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookstream.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The image reference. */}}
{{- define "hookstream.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
NATS credentials and TLS files (docs/operations.md, "NATS credentials"):
each configured Secret is mounted whole under /etc/hookstream/nats/ (no
subPath, so a rotated Secret reaches the pod and is read at the next
reconnect) and its path is given to the services. Renders nothing with the
default values. Fails the render when two auth methods are configured, or
a client certificate without its key.
*/}}
{{- define "hookstream.nats.check" -}}
{{- $n := .Values.nats -}}
{{- $methods := list -}}
{{- if $n.existingSecret }}{{ $methods = append $methods "nats.existingSecret" }}{{ end -}}
{{- if $n.credsSecret.name }}{{ $methods = append $methods "nats.credsSecret" }}{{ end -}}
{{- if $n.nkeySecret.name }}{{ $methods = append $methods "nats.nkeySecret" }}{{ end -}}
{{- if gt (len $methods) 1 }}{{ fail (printf "%s: set only one NATS authentication method" (join ", " $methods)) }}{{ end -}}
{{- if and $n.tls.existingSecret (ne (empty $n.tls.certKey) (empty $n.tls.keyKey)) }}{{ fail "nats.tls.certKey and nats.tls.keyKey: set both (a client certificate) or neither" }}{{ end -}}
{{- if and $n.tls.existingSecret (not $n.tls.caKey) (not $n.tls.certKey) }}{{ fail "nats.tls.existingSecret: nothing to mount; set nats.tls.caKey, or nats.tls.certKey with nats.tls.keyKey, or both" }}{{ end -}}
{{- end -}}

{{/* The HS_NATS_* file settings of every service's container. */}}
{{- define "hookstream.nats.env" -}}
{{- $n := .Values.nats -}}
{{- with $n.tls.existingSecret }}
{{- if $n.tls.caKey }}
- name: HS_NATS_TLS_CA
  value: /etc/hookstream/nats/tls/ca.crt
{{- end }}
{{- if $n.tls.certKey }}
- name: HS_NATS_TLS_CERT
  value: /etc/hookstream/nats/tls/tls.crt
- name: HS_NATS_TLS_KEY
  value: /etc/hookstream/nats/tls/tls.key
{{- end }}
{{- end }}
{{- if $n.tls.handshakeFirst }}
- name: HS_NATS_TLS_FIRST
  value: "true"
{{- end }}
{{- if $n.credsSecret.name }}
- name: HS_NATS_CREDS
  value: /etc/hookstream/nats/creds/user.creds
{{- end }}
{{- if $n.nkeySecret.name }}
- name: HS_NATS_NKEY_SEED_FILE
  value: /etc/hookstream/nats/nkey/seed
{{- end }}
{{- end -}}

{{/* Mounts of the NATS Secrets (read-only). */}}
{{- define "hookstream.nats.volumeMounts" -}}
{{- $n := .Values.nats -}}
{{- if $n.tls.existingSecret }}
- { name: nats-tls, mountPath: /etc/hookstream/nats/tls, readOnly: true }
{{- end }}
{{- if $n.credsSecret.name }}
- { name: nats-creds, mountPath: /etc/hookstream/nats/creds, readOnly: true }
{{- end }}
{{- if $n.nkeySecret.name }}
- { name: nats-nkey, mountPath: /etc/hookstream/nats/nkey, readOnly: true }
{{- end }}
{{- end -}}

{{/* Volumes of the NATS Secrets; only the keys in use, under fixed file names. */}}
{{- define "hookstream.nats.volumes" -}}
{{- $n := .Values.nats -}}
{{- with $n.tls.existingSecret }}
- name: nats-tls
  secret:
    secretName: {{ . }}
    items:
      {{- if $n.tls.caKey }}
      - { key: {{ $n.tls.caKey | quote }}, path: ca.crt }
      {{- end }}
      {{- if $n.tls.certKey }}
      - { key: {{ $n.tls.certKey | quote }}, path: tls.crt }
      - { key: {{ $n.tls.keyKey | quote }}, path: tls.key }
      {{- end }}
{{- end }}
{{- with $n.credsSecret.name }}
- name: nats-creds
  secret: { secretName: {{ . }}, items: [{ key: {{ $n.credsSecret.key | quote }}, path: user.creds }] }
{{- end }}
{{- with $n.nkeySecret.name }}
- name: nats-nkey
  secret: { secretName: {{ . }}, items: [{ key: {{ $n.nkeySecret.key | quote }}, path: seed }] }
{{- end }}
{{- end -}}

{{/* Fails the render when ClickHouse TLS is configured for a plain http:// URL. */}}
{{- define "hookstream.clickhouse.check" -}}
{{- if and .Values.clickhouse.tls.existingSecret (not (hasPrefix "https://" .Values.clickhouse.url)) }}{{ fail "clickhouse.tls.existingSecret needs an https:// clickhouse.url (ClickHouse's TLS HTTP port, usually 8443)" }}{{ end -}}
{{- end -}}

{{/*
The standard OpenTelemetry variables (values.yaml, otel). The services name
themselves (service.name); the release goes into service.namespace.
*/}}
{{- define "hookstream.otel.env" -}}
{{- $o := .Values.otel -}}
{{- with $o.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $o.headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom: { secretKeyRef: { name: {{ . }}, key: {{ $o.headersSecret.key | quote }} } }
{{- end }}
{{- with $o.sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with $o.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- $attrs := list (printf "service.namespace=%s" .Release.Name) (printf "k8s.namespace.name=%s" .Release.Namespace) }}
{{- range $k, $v := $o.resourceAttributes }}{{ $attrs = append $attrs (printf "%s=%s" $k $v) }}{{ end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end -}}
