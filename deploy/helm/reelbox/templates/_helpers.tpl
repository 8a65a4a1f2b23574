{{/* The chart's name, shortened to Kubernetes' 63 characters. */}}
{{- define "reelbox.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's objects: <release>-reelbox, or the release alone when it says reelbox. */}}
{{- define "reelbox.fullname" -}}
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

{{- define "reelbox.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reelbox.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reelbox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "reelbox.labels" -}}
helm.sh/chart: {{ include "reelbox.chart" . }}
{{ include "reelbox.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Secret the pods read: the user's own, or the one this chart makes. */}}
{{- define "reelbox.secretName" -}}
{{- default (include "reelbox.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "reelbox.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The settings every node shares, as REELBOX_* environment variables (web/settings.py: the prefix
REELBOX_, nested fields joined by __). Empty values are left out: the server's defaults apply.
*/}}
{{- define "reelbox.config" -}}
{{- $r := .Values.reelbox -}}
{{- $config := dict
  "REELBOX_HOST" "0.0.0.0"
  "REELBOX_PORT" (toString $r.port)
  "REELBOX_DATA_DIR" "/data"
  "REELBOX_LOG_LEVEL" $r.logLevel
  "REELBOX_LOG_FORMAT" $r.logFormat
  "REELBOX_AUTO_MIGRATE" (toString $r.autoMigrate)
  "REELBOX_DEMO_LIBRARY" (toString $r.demoLibrary)
  "REELBOX_STREAM__MAX_ENCODES_PER_USER" (toString $r.maxEncodesPerUser)
  "REELBOX_S3__REGION" $r.s3.region
-}}
{{- with $r.publicUrl }}{{ $_ := set $config "REELBOX_AUTH__PUBLIC_URL" . }}{{ end }}
{{- with $r.streamEncoders }}{{ $_ := set $config "REELBOX_STREAM__ENCODERS" (toString .) }}{{ end }}
{{- with $r.s3.endpointUrl }}{{ $_ := set $config "REELBOX_S3__ENDPOINT_URL" . }}{{ end }}
{{- with $r.s3.imagesBucket }}{{ $_ := set $config "REELBOX_IMAGES_S3_BUCKET" . }}{{ end }}
{{- range $name, $value := $r.extraConfig }}
{{- if not (hasPrefix "REELBOX_" $name) }}
{{- fail (printf "reelbox.extraConfig: %s is not a REELBOX_* setting" $name) }}
{{- end }}
{{- $_ := set $config $name (toString $value) }}
{{- end }}
{{- toYaml $config }}
{{- end }}
