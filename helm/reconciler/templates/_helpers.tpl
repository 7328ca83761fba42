{{/* Names, labels and the pieces every pod shares. */}}

{{- define "reconciler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reconciler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's resource name: <fullname>-<component>, within 63 characters. */}}
{{- define "reconciler.componentName" -}}
{{- printf "%s-%s" (include "reconciler.fullname" .root | trunc 50 | trimSuffix "-") .component }}
{{- end }}

{{- define "reconciler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "reconciler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: reconciler
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "worker"). */}}
{{- define "reconciler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reconciler.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "reconciler.componentLabels" -}}
{{ include "reconciler.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "reconciler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "reconciler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "reconciler.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{- define "reconciler.secretName" -}}
{{- default (include "reconciler.componentName" (dict "root" . "component" "secrets")) .Values.secrets.existingSecret }}
{{- end }}

{{- define "reconciler.redisHost" -}}
{{- include "reconciler.componentName" (dict "root" . "component" "redis") }}
{{- end }}

{{/*
Redis settings, checked once: an external Redis and the bundled one are exclusive, and
one of them is required.
*/}}
{{- define "reconciler.validateRedis" -}}
{{- $external := or .Values.redis.url .Values.redis.existingSecret }}
{{- if and .Values.redis.bundled.enabled $external }}
{{- fail "redis: both an external Redis (redis.url or redis.existingSecret) and the bundled one (redis.bundled.enabled=true) are set; set redis.bundled.enabled=false to use the external one, or clear redis.url and redis.existingSecret" }}
{{- end }}
{{- if not (or .Values.redis.bundled.enabled $external) }}
{{- fail "redis: no Redis configured; set redis.url (or redis.existingSecret) for an external Redis, or redis.bundled.enabled=true" }}
{{- end }}
{{- end }}

{{/*
REDIS_URL for any container. With a bundled Redis password, the URL is composed by
Kubernetes from REDIS_PASSWORD (dependent environment variables), so the password is
never written into a rendered manifest.
*/}}
{{- define "reconciler.redisEnv" -}}
{{- include "reconciler.validateRedis" . }}
{{- if include "reconciler.redisHaEnabled" . }}
- name: RECONCILER_REDIS_SENTINELS
  value: {{ include "reconciler.sentinelAddresses" . | quote }}
- name: RECONCILER_REDIS_MASTER
  value: {{ .Values.redis.ha.masterName | quote }}
- name: RECONCILER_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "reconciler.redisAuthSecretName" . }}
      key: {{ include "reconciler.redisAuthSecretKey" . }}
- name: RECONCILER_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "reconciler.sentinelAuthSecretName" . }}
      key: {{ include "reconciler.sentinelAuthSecretKey" . }}
{{- else if .Values.redis.bundled.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "reconciler.redisAuthSecretName" . }}
      key: {{ include "reconciler.redisAuthSecretKey" . }}
- name: REDIS_URL
  value: {{ printf "%s://:$(REDIS_PASSWORD)@%s:6379/0" (ternary "rediss" "redis" .Values.redis.bundled.tls.enabled) (include "reconciler.redisHost" .) | quote }}
{{- else if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- else }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
{{- include "reconciler.redisTlsEnv" . }}
{{- end }}

{{/* The bundled Redis's password: the user's Secret, else one the chart generates. */}}
{{- define "reconciler.redisAuthSecretName" -}}
{{- default (include "reconciler.generatedSecretName" .) .Values.redis.bundled.auth.existingSecret }}
{{- end }}
{{- define "reconciler.redisAuthSecretKey" -}}
{{- ternary .Values.redis.bundled.auth.existingSecretKey "redis-password" (not (empty .Values.redis.bundled.auth.existingSecret)) }}
{{- end }}
{{- define "reconciler.generatedSecretName" -}}
{{- include "reconciler.componentName" (dict "root" . "component" "generated") }}
{{- end }}
{{- define "reconciler.encryptionSecretName" -}}
{{- default (include "reconciler.generatedSecretName" .) .Values.encryption.existingSecret }}
{{- end }}
{{- define "reconciler.encryptionSecretKey" -}}
{{- ternary .Values.encryption.existingSecretKey "encryption-key" (not (empty .Values.encryption.existingSecret)) }}
{{- end }}

{{/* Settings shared by worker, beat and api. */}}
{{- define "reconciler.commonEnv" -}}
{{ include "reconciler.redisEnv" . | trim }}
- name: RECONCILER_SYNC_FENCE_NAMESPACE
  value: {{ .Values.syncFence.namespace | default .Release.Namespace | quote }}
- name: RECONCILER_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "reconciler.encryptionSecretName" . }}
      key: {{ include "reconciler.encryptionSecretKey" . }}
- name: RECONCILER_DATA_DIR
  value: /var/lib/reconciler
- name: RECONCILER_POLL_INTERVAL
  value: {{ .Values.config.pollInterval | quote }}
- name: RECONCILER_TASK_TIME_LIMIT
  value: {{ .Values.config.taskTimeLimit | quote }}
- name: RECONCILER_GIT_TIMEOUT
  value: {{ .Values.config.gitTimeout | quote }}
- name: RECONCILER_GIT_REF_CACHE_TTL
  value: {{ .Values.config.gitRefCacheTTL | quote }}
- name: RECONCILER_SYNC_WAVE_DELAY
  value: {{ .Values.config.syncWaveDelay | quote }}
- name: RECONCILER_SYNC_MISSING_KIND_TIMEOUT
  value: {{ .Values.config.syncMissingKindTimeout | quote }}
- name: RECONCILER_RENDER_MEMORY_LIMIT
  value: {{ .Values.config.renderMemoryLimit | quote }}
- name: RECONCILER_RENDER_CPU_SECONDS
  value: {{ .Values.config.renderCpuSeconds | quote }}
- name: RECONCILER_RENDER_TIMEOUT
  value: {{ .Values.config.renderTimeout | quote }}
- name: RECONCILER_ALLOWED_PRIVATE_HOSTS
  value: {{ .Values.config.allowedPrivateHosts | quote }}
{{- with .Values.access.url }}
# The external URL: SSO redirects (api), links in notifications and preview comments (workers).
- name: RECONCILER_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Security contexts: the values (Helm merges user overrides into the defaults key by key). */}}
{{- define "reconciler.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "reconciler.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{/*
Writable places under a read-only root filesystem: /tmp and the data dir (git mirrors
and snapshots), both emptyDirs. Call with (dict "root" $ "sizeLimit" "2Gi").
*/}}
{{- define "reconciler.scratchVolumes" -}}
- name: tmp
  emptyDir: {}
- name: data
  emptyDir: {{ if .sizeLimit }}{sizeLimit: {{ .sizeLimit }}}{{ else }}{}{{ end }}
{{- end }}

{{- define "reconciler.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/reconciler
{{- end }}

{{- define "reconciler.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* nodeSelector / tolerations / affinity of one component's values. */}}
{{- define "reconciler.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Flower cannot run open: refuse to render without its basic-auth secret. */}}
{{- define "reconciler.flowerSecretName" -}}
{{- if .Values.flower.basicAuth.existingSecret }}
{{- .Values.flower.basicAuth.existingSecret }}
{{- else if .Values.flower.basicAuth.value }}
{{- include "reconciler.componentName" (dict "root" . "component" "flower") }}
{{- else }}
{{- fail "flower.enabled=true requires basic auth: set flower.basicAuth.existingSecret (a Secret with key flower.basicAuth.existingSecretKey holding user:password) or flower.basicAuth.value" }}
{{- end }}
{{- end }}

{{- define "reconciler.flowerSecretKey" -}}
{{- if .Values.flower.basicAuth.existingSecret }}
{{- .Values.flower.basicAuth.existingSecretKey }}
{{- else }}
{{- "basic-auth" }}
{{- end }}
{{- end }}

{{/*
Argo CD resource customizations for the pods that assess health and compare (worker, api):
the argocd-cm data mounted as a directory of keys, and an optional checks directory.
*/}}
{{- define "reconciler.customizationsConfigMap" -}}
{{- if .Values.resourceCustomizations.existingConfigMap -}}
{{ .Values.resourceCustomizations.existingConfigMap }}
{{- else if .Values.resourceCustomizations.data -}}
{{ include "reconciler.fullname" . }}-resource-customizations
{{- end -}}
{{- end }}

{{- define "reconciler.customizationsEnv" -}}
{{- if include "reconciler.customizationsConfigMap" . }}
- name: RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE
  value: /etc/reconciler/resource-customizations
{{- end }}
{{- with .Values.resourceCustomizations.dir }}
- name: RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "reconciler.customizationsVolumes" -}}
{{- with include "reconciler.customizationsConfigMap" . }}
- name: resource-customizations
  configMap:
    name: {{ . }}
{{- end }}
{{- with .Values.resourceCustomizations.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "reconciler.customizationsMounts" -}}
{{- if include "reconciler.customizationsConfigMap" . }}
- name: resource-customizations
  mountPath: /etc/reconciler/resource-customizations
  readOnly: true
{{- end }}
{{- with .Values.resourceCustomizations.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{/* The bundled Redis's probe command (JSON list), over TLS when it is on. */}}
{{- define "reconciler.redisPing" -}}
{{- if .Values.redis.bundled.tls.enabled -}}
["redis-cli", "--tls", "--cacert", "/tls/ca.crt", "ping"]
{{- else -}}
["redis-cli", "ping"]
{{- end -}}
{{- end }}

{{/* Redis with Sentinel (redis.ha.enabled): names and the Sentinels' password. */}}
{{- define "reconciler.redisHaEnabled" -}}
{{- if and .Values.redis.bundled.enabled .Values.redis.ha.enabled }}true{{ end }}
{{- end }}
{{- define "reconciler.redisHeadless" -}}
{{- printf "%s-headless" (include "reconciler.redisHost" .) }}
{{- end }}
{{- define "reconciler.sentinelAuthSecretName" -}}
{{- default (include "reconciler.generatedSecretName" .) .Values.redis.ha.sentinelAuth.existingSecret }}
{{- end }}
{{- define "reconciler.sentinelAuthSecretKey" -}}
{{- ternary .Values.redis.ha.sentinelAuth.existingSecretKey "sentinel-password" (not (empty .Values.redis.ha.sentinelAuth.existingSecret)) }}
{{- end }}
{{- define "reconciler.sentinelAddresses" -}}
{{- $host := include "reconciler.redisHost" . }}
{{- $headless := include "reconciler.redisHeadless" . }}
{{- $addresses := list }}
{{- range $i := until (int .Values.redis.ha.replicas) }}
{{- $addresses = append $addresses (printf "%s-%d.%s:26379" $host $i $headless) }}
{{- end }}
{{- join "," $addresses }}
{{- end }}

{{/* Access control of the api pods: the RBAC policy's ConfigMap (when one is given), single
     sign-on, the project role tokens' signing key. */}}
{{- define "reconciler.rbacConfigMap" -}}
{{- if .Values.access.existingRbacConfigMap -}}
{{ .Values.access.existingRbacConfigMap }}
{{- else if .Values.access.rbacPolicy -}}
{{ include "reconciler.fullname" . }}-rbac
{{- end -}}
{{- end }}

{{- define "reconciler.accessEnv" -}}
{{- if include "reconciler.rbacConfigMap" . }}
- name: RECONCILER_RBAC_FILE
  value: /etc/reconciler/rbac
{{- end }}
- name: RECONCILER_TOKEN_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      {{- if .Values.access.tokenSigningKey.existingSecret }}
      name: {{ .Values.access.tokenSigningKey.existingSecret }}
      key: {{ .Values.access.tokenSigningKey.existingSecretKey }}
      {{- else }}
      name: {{ include "reconciler.generatedSecretName" . }}
      key: token-signing-key
      {{- end }}
{{- with .Values.access.oidc.issuer }}
- name: RECONCILER_OIDC_ISSUER
  value: {{ . | quote }}
- name: RECONCILER_OIDC_CLIENT_ID
  value: {{ $.Values.access.oidc.clientID | quote }}
- name: RECONCILER_OIDC_GROUPS_CLAIM
  value: {{ $.Values.access.oidc.groupsClaim | quote }}
{{- with $.Values.access.oidc.scopes }}
- name: RECONCILER_OIDC_SCOPES
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .Values.access.sessionDuration }}
- name: RECONCILER_SESSION_DURATION
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "reconciler.accessVolumes" -}}
{{- with include "reconciler.rbacConfigMap" . }}
- name: rbac-policy
  configMap:
    name: {{ . }}
{{- end }}
{{- end }}

{{- define "reconciler.accessMounts" -}}
{{- if include "reconciler.rbacConfigMap" . }}
- name: rbac-policy
  mountPath: /etc/reconciler/rbac
  readOnly: true
{{- end }}
{{- end }}

{{/* Pull-request previews: the workers' Git host API URLs (the dashboard URL the comments link
     to is commonEnv's RECONCILER_URL); their tokens come from the preview Secret (envFrom in
     the worker pods). */}}
{{- define "reconciler.previewEnv" -}}
{{- if .Values.preview.enabled }}
{{- range $host := list "github" "gitlab" "gitea" }}
{{- with (index $.Values.preview $host).apiUrl }}
- name: {{ printf "RECONCILER_PREVIEW_%s_API_URL" (upper $host) }}
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "reconciler.previewSecretName" -}}
{{- .Values.preview.existingSecret | default (printf "%s-preview" (include "reconciler.fullname" .)) -}}
{{- end }}
