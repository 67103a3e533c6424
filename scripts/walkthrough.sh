#!/usr/bin/env bash
# The main flow over HTTP with curl and jq, against the demo data of `make run` (var/demo.json):
# draft → validation → attachment → submit → four sign-offs (one on paper, verified by the reviewer)
# → recommend → batch → receipt → verify → acknowledge → outcome.
#   scripts/walkthrough.sh [BASE_URL] [DEMO_JSON] [PDF]
# Defaults: http://$SMPS_HOST:$SMPS_PORT as `make run` serves (127.0.0.1:8000), var/demo.json, a generated PDF.
# It runs again and again on the same demo data: once the reviewer's list on the practice call has gone to the
# office, the office opens a new practice round (copied from the practice call) and the walk uses that.
# A refused request stops it with the method, path, status and the problem+json body.
set -euo pipefail
HOST=${SMPS_HOST:-127.0.0.1}
case "$HOST" in 0.0.0.0) HOST=127.0.0.1 ;; ::) HOST="[::1]" ;; *:*) HOST="[$HOST]" ;; esac
BASE=${1:-http://$HOST:${SMPS_PORT:-8000}}/api/v1
DEMO=${2:-var/demo.json}
PDF=${3:-}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
if [ -z "$PDF" ]; then  # a one-page PDF, as a scanner would give
  PDF=$WORK/scan.pdf
  printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%%%EOF\n' > "$PDF"
fi

key() { jq -r --arg u "$1" '.users[] | select(.username == $u) | .api_key' "$DEMO"; }
org() { jq -r --arg k "$1" '.organizations[$k]' "$DEMO"; }
APPLICANT=$(key demo_applicant); REVIEWER=$(key demo_reviewer); OFFICE=$(key demo_office)
# api KEY METHOD PATH [curl args…]: prints the body; on an HTTP error prints the problem to stderr and fails.
# KEY "-" sends no credential. The response headers stay in $WORK/headers (etag reads them).
api() {
  local key=$1 method=$2 path=$3 code; shift 3
  local auth=(); [ "$key" = - ] || auth=(-H "Authorization: Bearer $key")
  code=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" "${auth[@]}" -D "$WORK/headers" "$BASE$path" "$@") \
    || { printf 'walkthrough: %s %s: no answer from %s\n' "$method" "$path" "$BASE" >&2; exit 1; }
  if [ "$code" -ge 400 ]; then
    printf 'walkthrough: %s %s answered %s:\n' "$method" "$path" "$code" >&2
    jq . "$WORK/body" >&2 2>/dev/null || cat "$WORK/body" >&2
    exit 1
  fi
  cat "$WORK/body"
}
etag() { tr -d '\r' < "$WORK/headers" | awk 'tolower($1) == "etag:" {print $2}'; }
# The application's ETag after an upload or a removal of an attachment (the If-Match of its next write)
app_etag() { tr -d '\r' < "$WORK/headers" | awk 'tolower($1) == "application-etag:" {print $2}'; }
json() { printf '%s' "$1" | jq -c .; }  # the body, checked to be JSON
step() { printf '\n== %s\n' "$*" >&2; }

step "the practice call (public)"
CALL=$(api - GET /calls | jq -r '.[] | select(.key == "practice") | .id')
LIST_STATE=$(api "$REVIEWER" GET "/batches?call_id=$CALL" | jq -r '.items[0].state // "none"')
if [ "$LIST_STATE" = submitted ] || [ "$LIST_STATE" = acknowledged ]; then
  step "the reviewer's list on it went to the office in an earlier walk: the office opens a new practice round"
  ROUND=$(api - GET "/calls/$CALL" | jq -c --arg key "practice-$(date -u +%Y%m%d%H%M%S)-$$" '{key: $key,
    name: (.name + "（新一轮）"), name_en: (.name_en + " (new round)"), notice_number, issue_date, deadline, copy_from_call_id: .id}')
  CALL=$(api "$OFFICE" POST /calls -H 'Content-Type: application/json' -d "$ROUND" | jq -r .id)
fi
SECTIONS=$(api - GET "/calls/$CALL" | jq -c '[.sections[] | {(.key): (.title + "：按试点实施方案推进。")}] | add')

step "1. draft, and its validation report"
BODY=$(jq -n --arg call "$CALL" --arg rec "$(jq -r .recommender_id "$DEMO")" --argjson sections "$SECTIONS" \
  --arg p "$(org demo-participating)" --arg g "$(org demo-guarantor)" --arg d "$(org demo-guidance)" '{
  call_id: $call, title: "济南市历下区政务服务标准化试点", domain: {area: "1.1", item: "1.1.3"}, recommender_id: $rec,
  parties: {participating: [$p], guarantor: $g, guidance: $d},
  contact: {name: "王芳", phone: "13800138000", email: "wangfang@example.cn"},
  period: {start: "2023-01-01", end: "2024-12-31"}, sections: $sections,
  standards: [{code: "GB/T 32169.1-2015", title: "政务服务中心运行规范 第1部分：基本要求", level: "national", status: "existing"}],
  funding: {amount_cny: 1200000, sources: "区财政专项资金"},
  eligibility: [1, 2, 3, 4] | map({condition: ., attested: true})}')
APP=$(api "$APPLICANT" POST /applications -H 'Content-Type: application/json' -d "$BODY" | jq -r .id)
APP_ETAG=$(etag)
api "$APPLICANT" GET "/applications/$APP/validation" | jq -c '{valid, errors: [.errors[].code]}' >&2

step "2. the stamped form scan, then submit for sign-off (If-Match: the ETag last read)"
api "$APPLICANT" POST "/applications/$APP/attachments" -H "If-Match: $APP_ETAG" \
  -F kind=application_form_scan -F "file=@$PDF;type=application/pdf" | jq -c '{id, sha256}' >&2
api "$APPLICANT" POST "/applications/$APP/transitions" -H "If-Match: $(app_etag)" -H 'Content-Type: application/json' \
  -d '{"action": "submit"}' | jq -c '{state, version}' >&2

step "3. four sign-offs: three online by each party's signatory, the guarantor's on paper"
endorse() {  # endorse KEY BODY
  api "$APPLICANT" GET "/applications/$APP" > /dev/null
  api "$1" POST "/applications/$APP/endorsements" -H "If-Match: $(etag)" -H 'Content-Type: application/json' -d "$2"
}
UNDERTAKING=$(api "$APPLICANT" GET "/applications/$APP" | jq -r .undertaking_org_id)
for who in "demo_applicant undertaking $UNDERTAKING 王芳" \
           "demo_participating_signatory participating $(org demo-participating) 李强" \
           "demo_guidance_signatory guidance $(org demo-guidance) 刘洋"; do
  read -r user role id name <<< "$who"
  endorse "$(key "$user")" "$(jq -n --arg r "$role" --arg o "$id" --arg n "$name" \
    '{role: $r, organization_id: $o, decision: "agree", opinion: "同意申报", signatory_name: $n}')" | jq -c '{party_role, decision}' >&2
done
api "$APPLICANT" GET "/applications/$APP" > /dev/null
PAGE=$(api "$APPLICANT" POST "/applications/$APP/attachments" -H "If-Match: $(etag)" \
  -F kind=paper_endorsement -F "file=@$PDF;type=application/pdf" | jq -r .id)
PAPER=$(endorse "$APPLICANT" "$(jq -n --arg o "$(org demo-guarantor)" --arg a "$PAGE" '{role: "guarantor", organization_id: $o,
  decision: "agree", opinion: "同意申报", signatory_name: "张伟", signatory_title: "区长", mode: "paper", attachment_id: $a}')" | jq -r .id)
api "$APPLICANT" GET "/applications/$APP" | jq -c '{state, sign_offs: [.sign_offs[] | {role, status, mode}]}' >&2

step "4. the province's reviewer verifies the paper page, then recommends"
api "$REVIEWER" GET "/applications/$APP" | jq -c .allowed_actions >&2
api "$REVIEWER" POST "/applications/$APP/endorsements/$PAPER/verification" -H "If-Match: $(etag)" \
  -H 'Content-Type: application/json' -d '{"verdict": "confirmed", "comment": "签字盖章页与原件一致"}' | jq -c '{verification}' >&2
api "$REVIEWER" GET "/applications/$APP" > /dev/null
api "$REVIEWER" POST "/applications/$APP/reviews" -H "If-Match: $(etag)" -H 'Content-Type: application/json' \
  -d '{"decision": "recommend", "opinion": "同意推荐"}' | jq -c '{decision}' >&2

step "5. the recommended list: a batch, its ranked items, submitted; its signed receipt, verified"
# The list an interrupted walk left open is taken up again; otherwise a new one.
BATCH=$(api "$REVIEWER" GET "/batches?call_id=$CALL" | jq -r '.items[0].id // empty')
[ -n "$BATCH" ] || BATCH=$(api "$REVIEWER" POST /batches -H 'Content-Type: application/json' -d "$(jq -n --arg c "$CALL" '{call_id: $c}')" | jq -r .id)
api "$REVIEWER" GET "/batches/$BATCH" > /dev/null
api "$REVIEWER" PUT "/batches/$BATCH/items" -H "If-Match: $(etag)" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg a "$APP" '{items: [{rank: 1, application_id: $a}]}')" > /dev/null
api "$REVIEWER" POST "/batches/$BATCH/transitions" -H "If-Match: $(etag)" -H 'Content-Type: application/json' \
  -d '{"action": "submit"}' | jq -c '{state, tracking_number}' >&2
api "$REVIEWER" GET "/batches/$BATCH/receipt" > "$WORK/receipt.json"
VALID=$(api "$OFFICE" POST /receipts/verify -H 'Content-Type: application/json' -d @"$WORK/receipt.json" | jq -r .valid)
[ "$VALID" = true ] || { echo "the receipt does not verify" >&2; exit 1; }

step "6. the office acknowledges the batch (受理) and records the outcome"
api "$OFFICE" GET "/batches/$BATCH" > /dev/null
api "$OFFICE" POST "/batches/$BATCH/transitions" -H "If-Match: $(etag)" -H 'Content-Type: application/json' \
  -d '{"action": "acknowledge"}' | jq -c '{state}' >&2
api "$OFFICE" GET "/applications/$APP" > /dev/null
RESULT=$(api "$OFFICE" POST "/applications/$APP/outcome" -H "If-Match: $(etag)" -H 'Content-Type: application/json' \
  -d '{"decision": "approve", "document_number": "国标委发〔2023〕5号"}')
json "$(jq -n --arg app "$APP" --arg batch "$BATCH" --argjson r "$RESULT" --slurpfile receipt "$WORK/receipt.json" \
  '{application: $app, state: $r.state, batch: $batch, tracking_number: $receipt[0].tracking_number}')"
