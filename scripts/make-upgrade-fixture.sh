#!/bin/bash
# Makes the data dir fixture of test/upgrade-from-old-release.test.ts with
# an OLDER coffer build: starts it with --dev on a fresh data dir, fills it
# through that build's own CLI, stops it with SIGTERM (a clean stop), and
# copies the data dir (without tls/: the test serves with its own CA) with a
# manifest of what was stored.
#
#   git worktree add /tmp/old 5033529 && cp -al node_modules /tmp/old/ && (cd /tmp/old && npm run build)
#   scripts/make-upgrade-fixture.sh /tmp/old test/fixtures/upgrade-from-5033529
#
# (test/fixtures/upgrade-from-98efba0 the same with commit 98efba0.)
#
# Everything in it is test data of a --dev deployment (published
# credentials); the master key is in it on purpose.
set -euo pipefail
OLD=$(cd "$1" && pwd); mkdir -p "$2"; OUT=$(cd "$2" && pwd)
WORK=$(mktemp -d); D=$WORK/data; export COFFER_HOME=$WORK/home
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
C=(node "$OLD/bin/coffer.js")
"${C[@]}" server --dev --data-dir "$D" --port "$PORT" --no-throttle --log-level warn > "$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 150); do
  [ -f "$D/bootstrap.json" ] && curl -sf --cacert "$D/tls/ca.pem" "https://localhost:$PORT/healthz" > /dev/null && break
  kill -0 $PID || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done
export NODE_EXTRA_CA_CERTS=$D/tls/ca.pem
SUB=$(node -p "require('$D/bootstrap.json').subscriptionId")
VAULTS=/subscriptions/$SUB/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults
"${C[@]}" login --bootstrap "$D/bootstrap.json" -o none
"${C[@]}" group create --name rg1 --location local -o none
"${C[@]}" keyvault create --name rbacvault --resource-group rg1 --enable-rbac-authorization true -o none
"${C[@]}" keyvault create --name polvault --resource-group rg1 --enable-rbac-authorization false -o none
for v in one two three; do
  "${C[@]}" keyvault secret set --vault-name rbacvault --name db-pass --value "test-value-$v" --tags env=prod team=a --content-type text/plain -o none
done
"${C[@]}" keyvault secret set --vault-name rbacvault --name other --value test-value-other -o none
"${C[@]}" keyvault secret set --vault-name rbacvault --name gone --value test-value-gone --tags k=v -o none
"${C[@]}" keyvault secret delete --vault-name rbacvault --name gone -o none
"${C[@]}" keyvault secret set --vault-name polvault --name p1 --value test-value-p1 -o none
"${C[@]}" keyvault secret set --vault-name polvault --name p2 --value test-value-p2 --tags k=v -o none
# A connector: 'Key Vault Secrets User' on one secret, Get on the access-policy vault,
# and through a group 'Key Vault Reader' on the RBAC vault (metadata, no values).
"${C[@]}" ad sp create-for-rbac --name connector -o json > "$WORK/sp.json"
APP=$(node -p "require('$WORK/sp.json').appId")
SPOID=$("${C[@]}" ad sp show --id "$APP" --query id -o tsv)
"${C[@]}" role assignment create --role "Key Vault Secrets User" --assignee "$APP" --scope "$VAULTS/rbacvault/secrets/db-pass" -o none
"${C[@]}" keyvault set-policy --name polvault --spn "$APP" --secret-permissions get -o none
GID=$("${C[@]}" ad group create --display-name readers --mail-nickname readers --query id -o tsv)
"${C[@]}" ad group member add --group "$GID" --member-id "$SPOID" -o none
"${C[@]}" role assignment create --role "Key Vault Reader" --assignee-object-id "$GID" --assignee-principal-type Group --scope "$VAULTS/rbacvault" -o none
"${C[@]}" audit verify -o none
kill -TERM $PID; wait $PID || true
rm -f "${OUT:?}"/*.json "$OUT"/coffer.db* "$OUT"/master.key
[ ! -e "$D/coffer.db-wal" ] || [ ! -s "$D/coffer.db-wal" ] || { echo "the WAL was not checkpointed at the stop" >&2; exit 1; }
# The database gzipped (mostly empty pages: 200 KB become 20 KB); the test unpacks it.
( cd "$D" && gzip -9 -n -c coffer.db > "$OUT/coffer.db.gz" && cp master.key "$OUT/" && cp ./*.json "$OUT/" )
node -e "
const sp = require('$WORK/sp.json');
const m = { commit: process.argv[1], connector: { appId: sp.appId, objectId: process.argv[2], password: sp.password }, groupId: process.argv[3] };
require('fs').writeFileSync('$OUT/manifest.json', JSON.stringify(m, null, 2) + '\n');
" "$(git -C "$OLD" rev-parse --short HEAD)" "$SPOID" "$GID"
ls -la "$OUT"
