#!/usr/bin/env bash
# Builds the five Lambda functions for arm64 (`make zips`, the very zips CI
# tests), deploys the stack with them, makes its SES receipt rule set the
# active one, uploads the configuration, and prints what is left to do by
# hand.
#
# Run through `make deploy [CONFIG=ipcam.toml] [STACK=ipcam] [DOMAIN=...]`;
# docs/deploy.md explains every step. The first run needs DOMAIN (the domain
# the cameras write to), asks for the stack's other parameters (`sam deploy
# --guided`) and remembers them in infra/samconfig.toml.
#
# Each camera gets a secret address, <camera>-<26 random characters>@DOMAIN,
# generated once and kept beside the configuration (ipcam.toml ->
# ipcam.secret-addresses.toml): the receipt rule accepts those only, and the
# uploaded configuration lets their mail in whatever its sender. A stack
# that accepts every address of the domain is deployed only when asked
# (ALLOW_WHOLE_DOMAIN=1).
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-ipcam.toml}
STACK=${STACK:-ipcam}
VENV=${VENV:-.venv}
SAMCONFIG=infra/samconfig.toml
SECRETS=${SECRETS:-"$(dirname "$CONFIG")/$(basename "$CONFIG" .toml).secret-addresses.toml"}
SETTINGS=("$VENV/bin/python" infra/deploy_settings.py)

say() { printf 'deploy: %s\n' "$*"; }
die() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }

# --- What must be there before anything is built or deployed -------------
need sam "install the AWS SAM CLI (see docs/deploy.md, Prerequisites)"
need aws "install the AWS CLI and run 'aws configure' (see docs/deploy.md, Prerequisites)"
need cargo "install Rust with rustup"
[[ -f "$CONFIG" ]] ||
  die "no configuration file '$CONFIG': copy examples/ipcam.toml to ipcam.toml and edit it, or pass CONFIG=FILE"
aws sts get-caller-identity >/dev/null ||
  die "the AWS CLI has no working credentials: run 'aws configure' (or set AWS_PROFILE)"

# The domain the cameras write to: given, or saved by the first deployment.
DOMAIN=${DOMAIN:-$("${SETTINGS[@]}" saved --samconfig "$SAMCONFIG" DomainName)}
DOMAIN=$(printf '%s' "$DOMAIN" | tr 'A-Z' 'a-z')
[[ -n "$DOMAIN" ]] ||
  die "name the domain the cameras write to on the first deployment: make deploy DOMAIN=cams.example.com"

# No sender of the stack's domain may be allowed: anyone can write to it
# with such a `From:`.
say "checking $CONFIG for the domain $DOMAIN"
cargo run --quiet -p ipcam -- config check --mail-domain "$DOMAIN" "$CONFIG" ||
  die "$CONFIG cannot be deployed as it is (see above); nothing was deployed"

# --- The cameras' secret addresses -----------------------------------------
ADDRESSES=$("${SETTINGS[@]}" addresses --config "$CONFIG" --domain "$DOMAIN" --kept "$SECRETS")
WHOLE_DOMAIN=false
if [[ "${ALLOW_WHOLE_DOMAIN:-}" == "1" ]]; then
  WHOLE_DOMAIN=true
  say "ALLOW_WHOLE_DOMAIN=1: SES will accept mail to every address of $DOMAIN"
elif [[ -z "$ADDRESSES" ]]; then
  die "$CONFIG has no camera, so no camera has a secret address and SES would accept no mail;
  add the cameras, or run 'make deploy ALLOW_WHOLE_DOMAIN=1' to accept every address of $DOMAIN
  (anyone who writes to the domain then costs an invocation)"
fi
# The secret last segment of the SendGrid endpoint's path, kept beside the
# addresses (used only with EnableSendGrid=true).
SENDGRID_PATH_TOKEN=$("${SETTINGS[@]}" token --kept "$SECRETS" sendgrid_path)
PARAMETERS=$("${SETTINGS[@]}" parameters --samconfig "$SAMCONFIG" \
  "DomainName=$DOMAIN" "InboundRecipients=$ADDRESSES" "ReceiveWholeDomain=$WHOLE_DOMAIN" \
  "SendGridPathToken=$SENDGRID_PATH_TOKEN")

# --- Build ------------------------------------------------------------------
# `make zips` builds the functions (it installs cargo-lambda and the arm64
# target if they are missing) into out/lambda/<function>/bootstrap.zip, where
# each function's CodeUri points: `sam deploy` uploads those zips as they
# are, with no `sam build`. The functions are built once, one way, for CI's
# tests and for AWS.
say "building the five functions for arm64 (a first build takes several minutes)"
make --no-print-directory zips VENV="$VENV"

# --- Deploy -----------------------------------------------------------------
# `--template-file`: this template, with its zips, not one an earlier `sam
# build` may have left in infra/.aws-sam.
if [[ -f "$SAMCONFIG" ]]; then
  say "deploying with the settings saved in $SAMCONFIG"
  (cd infra && sam deploy --template-file template.yaml --no-fail-on-empty-changeset \
    --parameter-overrides "$PARAMETERS")
else
  say "first deployment: answer the questions; the answers are saved in $SAMCONFIG"
  say "(DomainName is the domain the cameras e-mail; allow SAM to create IAM roles)"
  (cd infra && sam deploy --template-file template.yaml --guided --stack-name "$STACK" \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset --parameter-overrides "$PARAMETERS")
fi

# The stack and region the deployment used, as saved by `sam deploy`.
read -r STACK REGION < <(
  "$VENV/bin/python" - "$SAMCONFIG" "$STACK" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as file:
    saved = tomllib.load(file).get("default", {}).get("deploy", {}).get("parameters", {})
print(saved.get("stack_name", sys.argv[2]), saved.get("region", "-"))
PY
)
if [[ "$REGION" == "-" ]]; then
  REGION=$(aws configure get region || true)
fi
[[ -n "$REGION" ]] || die "cannot tell which region the stack is in: set 'region' in $SAMCONFIG"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text
}
RULE_SET=$(output ReceiptRuleSetName)
CONFIG_LOCATION=$(output ConfigLocation)
SENDGRID_URL=$(output SendGridUrl)
[[ "$(output DomainName)" == "$DOMAIN" ]] ||
  die "the stack's DomainName is $(output DomainName), not $DOMAIN: the deployment did not take"

# What is left to do by hand, printed at the end.
PENDING=()

# --- The SendGrid password: an SSM SecureString, in no parameter or variable
# CloudFormation cannot create a SecureString, so it is written here: the
# one given as SENDGRID_PASSWORD, else the one an older deployment saved in
# samconfig.toml (moved here), else a new random one; an existing parameter
# is kept. The function reads it at its next cold start.
if [[ -n "$SENDGRID_URL" && "$SENDGRID_URL" != "None" ]]; then
  PASSWORD_PARAMETER=$(output SendGridPasswordParameter)
  SAVED_PASSWORD=$("${SETTINGS[@]}" saved --samconfig "$SAMCONFIG" SendGridPassword)
  NEW_PASSWORD=${SENDGRID_PASSWORD:-}
  if [[ -z "$NEW_PASSWORD" ]] && ! aws ssm get-parameter --name "$PASSWORD_PARAMETER" >/dev/null 2>&1; then
    NEW_PASSWORD=${SAVED_PASSWORD:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')}
  fi
  if [[ -n "$NEW_PASSWORD" ]]; then
    # Through a file readable by this user only, not on the command line.
    REQUEST=$(umask 077 && mktemp)
    NEW_PASSWORD="$NEW_PASSWORD" PASSWORD_PARAMETER="$PASSWORD_PARAMETER" "$VENV/bin/python" -c '
import json, os
print(json.dumps({"Name": os.environ["PASSWORD_PARAMETER"], "Value": os.environ["NEW_PASSWORD"],
                  "Type": "SecureString", "Overwrite": True}))' >"$REQUEST"
    aws ssm put-parameter --cli-input-json "file://$REQUEST" >/dev/null
    rm -f "$REQUEST"
    say "wrote the SendGrid password to the SSM SecureString $PASSWORD_PARAMETER"
  fi
  if [[ -n "$SAVED_PASSWORD" ]]; then
    PENDING+=("$SAMCONFIG still holds SendGridPassword in parameter_overrides, which the stack no longer
     takes (the password is in SSM, $PASSWORD_PARAMETER): delete it from that file.")
  fi
fi

# --- Configuration: uploaded before mail can arrive --------------------------
# What the functions read: the configuration with the cameras' secret
# addresses, without [serve] (the local server's, password included).
UPLOAD=$(mktemp)
trap 'rm -f "$UPLOAD"' EXIT
cargo run --quiet -p ipcam -- config deployable --mail-domain "$DOMAIN" \
  --secret-addresses "$SECRETS" "$CONFIG" >"$UPLOAD" ||
  die "$CONFIG cannot be uploaded as it is (see above)"
aws s3 cp --only-show-errors --content-type 'application/toml' "$UPLOAD" "$CONFIG_LOCATION"
say "uploaded $CONFIG, with the secret addresses and without [serve], to $CONFIG_LOCATION (each function reads it at its next cold start)"

# --- SES receipt rule set: CloudFormation cannot make it active ------------
ACTIVE=$(aws ses describe-active-receipt-rule-set --query 'Metadata.Name' --output text)
if [[ "$ACTIVE" == "$RULE_SET" ]]; then
  say "SES receipt rule set $RULE_SET is already the active one"
elif [[ -z "$ACTIVE" || "$ACTIVE" == "None" || "${REPLACE_ACTIVE_RULE_SET:-}" == "1" ]]; then
  aws ses set-active-receipt-rule-set --rule-set-name "$RULE_SET"
  say "made SES receipt rule set $RULE_SET the active one in $REGION (done once; later deployments keep it)"
else
  PENDING+=("SES receipt rule set '$ACTIVE' is active in $REGION, and a region has only one active set.
     This stack's set '$RULE_SET' was NOT activated. Either move this stack's rule into '$ACTIVE'
     by hand, or run 'make deploy REPLACE_ACTIVE_RULE_SET=1' to make '$RULE_SET' active instead
     (the rules of '$ACTIVE' then stop receiving mail).")
fi

# --- What the stack gives, and what is left to do by hand -----------------
aws cloudformation describe-stacks --stack-name "$STACK" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

printf '\nEach camera writes to its own secret address (kept in %s; SES refuses every other address):\n' "$SECRETS"
"${SETTINGS[@]}" addresses --config "$CONFIG" --domain "$DOMAIN" --kept "$SECRETS" --table | sed 's/^/  /'

DKIM=$(aws sesv2 get-email-identity --email-identity "$DOMAIN" \
  --query 'DkimAttributes.Status' --output text 2>/dev/null || echo UNKNOWN)
if [[ "$DKIM" != "SUCCESS" ]]; then
  PENDING+=("The domain $DOMAIN is not verified yet (DKIM status: $DKIM). Unless the stack made the
     records (HostedZoneId), add the MX record and the three DKIM CNAME records shown above at
     your DNS provider. Verification usually follows within an hour of the records appearing.")
fi
if [[ -n "$SENDGRID_URL" && "$SENDGRID_URL" != "None" ]]; then
  PENDING+=("SendGrid: Settings > Inbound Parse > Add Host & URL. Destination URL:
     ${SENDGRID_URL/https:\/\//https://USERNAME:PASSWORD@}
     with the SendGridUsername you deployed with and the password of
     'aws ssm get-parameter --with-decryption --name $PASSWORD_PARAMETER', and tick
     'POST the raw, full MIME message'. Point the receiving domain's MX at mx.sendgrid.net.")
fi
PENDING+=("Set each camera's e-mail recipient to its secret address above (the camera's SMTP
     settings: recipient / To). Mail to any other address of $DOMAIN is refused by SES.")
PENDING+=("Subscribe to the alert topic (AlertTopicArn above): e-mail subscribers must click the
     link in the confirmation e-mail; SMS needs the account out of the SNS SMS sandbox, or the
     phone number verified in it. docs/deploy.md shows filter policies on camera and labels.")
PENDING+=("The operational alarms (failed executions, function errors) go to OperationsTopicArn above,
     not to the alert topic: confirm its e-mail subscription (OpsEmail, or else AlertEmail), or
     subscribe whoever looks after the stack.")
PENDING+=("The SES sandbox limits sending, not receiving: this stack only receives mail and alerts
     through SNS, so it needs no SES production access.")
PENDING+=("A changed $CONFIG is uploaded by the next 'make deploy'; functions already running keep
     the old one until their next cold start.")

printf '\nStill to do by hand:\n'
for step in "${PENDING[@]}"; do
  printf '  - %s\n' "$step"
done
