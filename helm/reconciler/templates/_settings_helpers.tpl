{{/* Helpers of optional settings: Redis TLS for clients, notifications, ApplicationSets. */}}

{{/*
Redis over TLS (redis.bundled.tls.enabled): every reconciler pod verifies the servers (and
Sentinels) with the ca.crt of redis.bundled.tls.secretName, mounted alone (no key) here.
*/}}
{{- define "reconciler.redisTlsOn" -}}
{{- if and .Values.redis.bundled.enabled .Values.redis.bundled.tls.enabled }}true{{ end }}
{{- end }}
{{- define "reconciler.redisTlsEnv" -}}
{{- if include "reconciler.redisTlsOn" . }}
- name: RECONCILER_REDIS_TLS
  value: "true"
- name: RECONCILER_REDIS_TLS_CA_FILE
  value: /etc/reconciler/redis-tls/ca.crt
{{- if include "reconciler.redisHaEnabled" . }}
- name: RECONCILER_REDIS_SENTINEL_TLS
  value: "true"
- name: RECONCILER_REDIS_SENTINEL_TLS_CA_FILE
  value: /etc/reconciler/redis-tls/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{- define "reconciler.redisTlsVolumes" -}}
{{- if include "reconciler.redisTlsOn" . }}
- name: redis-tls-ca
  secret:
    secretName: {{ required "redis.bundled.tls.secretName: name the kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) Redis serves" .Values.redis.bundled.tls.secretName }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}
{{- define "reconciler.redisTlsMounts" -}}
{{- if include "reconciler.redisTlsOn" . }}
- name: redis-tls-ca
  mountPath: /etc/reconciler/redis-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* Notifications (worker pods): argocd-notifications-cm and the secret its `$key`s name. */}}
{{- define "reconciler.notificationsConfigMap" -}}
{{- if .Values.notifications.existingConfigMap -}}
{{ .Values.notifications.existingConfigMap }}
{{- else if .Values.notifications.config -}}
{{ include "reconciler.fullname" . }}-notifications
{{- end -}}
{{- end }}
{{- define "reconciler.notificationsSecret" -}}
{{- if .Values.notifications.existingSecret -}}
{{ .Values.notifications.existingSecret }}
{{- else if .Values.notifications.secrets -}}
{{ include "reconciler.fullname" . }}-notifications
{{- end -}}
{{- end }}
{{- define "reconciler.notificationsEnv" -}}
{{- if include "reconciler.notificationsConfigMap" . }}
- name: RECONCILER_NOTIFICATIONS_FILE
  value: /etc/reconciler/notifications
{{- if include "reconciler.notificationsSecret" . }}
- name: RECONCILER_NOTIFICATIONS_SECRETS_FILE
  value: /etc/reconciler/notifications-secret
{{- end }}
- name: RECONCILER_NOTIFICATIONS_MAX_ATTEMPTS
  value: {{ .Values.notifications.maxAttempts | quote }}
- name: RECONCILER_NOTIFICATIONS_RETRY_SECONDS
  value: {{ .Values.notifications.retrySeconds | quote }}
{{- else if include "reconciler.notificationsSecret" . }}
{{- fail "notifications: a secret is set but no config; set notifications.config (argocd-notifications-cm data) or notifications.existingConfigMap" }}
{{- end }}
{{- end }}
{{- define "reconciler.notificationsVolumes" -}}
{{- with include "reconciler.notificationsConfigMap" . }}
- name: notifications
  configMap:
    name: {{ . }}
{{- end }}
{{- with include "reconciler.notificationsSecret" . }}
- name: notifications-secret
  secret:
    secretName: {{ . }}
{{- end }}
{{- end }}
{{- define "reconciler.notificationsMounts" -}}
{{- if include "reconciler.notificationsConfigMap" . }}
- name: notifications
  mountPath: /etc/reconciler/notifications
  readOnly: true
{{- end }}
{{- if include "reconciler.notificationsSecret" . }}
- name: notifications-secret
  mountPath: /etc/reconciler/notifications-secret
  readOnly: true
{{- end }}
{{- end }}

{{/* ApplicationSets (worker and api pods): the deletion cap, and the SCM tokens' Secret. */}}
{{- define "reconciler.appsetTokensGiven" -}}
{{- range $provider, $token := .Values.applicationSet.tokens }}{{ if $token }}true{{ end }}{{ end }}
{{- end }}
{{- define "reconciler.appsetSecretName" -}}
{{- default (include "reconciler.componentName" (dict "root" . "component" "appset")) .Values.applicationSet.existingSecret }}
{{- end }}
{{- define "reconciler.appsetEnv" -}}
- name: RECONCILER_APPSET_MAX_DELETE_PERCENT
  value: {{ .Values.applicationSet.maxDeletePercent | quote }}
{{- end }}
{{- define "reconciler.appsetEnvFrom" -}}
{{- if or .Values.applicationSet.existingSecret (include "reconciler.appsetTokensGiven" .) }}
- secretRef:
    name: {{ include "reconciler.appsetSecretName" . }}
{{- end }}
{{- end }}
