#!/usr/bin/env bash
# Install or upgrade Motcua on a Debian 12 host: the one command of docs/deploy.md.
#   sudo deploy/install.sh                 # from a checkout of the repository
#   sudo MOTCUA_WEB_WORKERS=3 MOTCUA_PUBLIC_URL=https://motcua.tayninh.gov.vn deploy/install.sh
# Idempotent: re-running upgrades the code, keeps /etc/motcua/env, the database and the data,
# migrates once and restarts the workers.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
APP=/opt/motcua
ETC=/etc/motcua
ENV_FILE="$ETC/env"
DB_NAME=motcua
DB_USER=motcua
WEB_BASE_PORT=8081
EXAMPLE_HOST=motcua.example.gov.vn

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: sudo deploy/install.sh"
[ -f /etc/debian_version ] || die "this script is for Debian hosts"

# Web workers: one per core, at least two (one may restart while the other serves).
cores="$(nproc)"
WEB_WORKERS="${MOTCUA_WEB_WORKERS:-$(( cores > 2 ? cores : 2 ))}"
[[ "$WEB_WORKERS" =~ ^[1-9][0-9]?$ ]] || die "MOTCUA_WEB_WORKERS must be 1..99, not '$WEB_WORKERS'"

say "Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv postgresql nginx openssl rsync curl \
  tesseract-ocr tesseract-ocr-vie fonts-dejavu-core fonts-noto-core >/dev/null

say "user and directories"
id -u motcua >/dev/null 2>&1 || useradd --system --home-dir /var/lib/motcua --shell /usr/sbin/nologin motcua
install -d -m 0700 -o motcua -g motcua /var/lib/motcua
install -d -m 0750 -o root -g motcua "$ETC"

say "code and virtualenv in $APP"
if [ "$SRC" != "$APP" ]; then
  # The code is root's and read-only to the service; data lives in /var/lib/motcua.
  rsync -a --delete --exclude .venv --exclude var --exclude .git --exclude '__pycache__' "$SRC/" "$APP/"
fi
[ -x "$APP/.venv/bin/python" ] || python3 -m venv "$APP/.venv"
"$APP/.venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$APP/.venv/bin/pip" install -q --disable-pip-version-check --upgrade "$APP[s3]"  # s3: MOTCUA_STORAGE=s3

say "configuration $ENV_FILE"
if [ ! -f "$ENV_FILE" ]; then
  secret="$(openssl rand -base64 48 | tr -d '\n/+=')"
  dbpass="$(openssl rand -hex 24)"
  sed -e "s|^MOTCUA_SECRET_KEY=.*|MOTCUA_SECRET_KEY=$secret|" \
      -e "s|^MOTCUA_DATABASE_URL=.*|MOTCUA_DATABASE_URL=postgres://$DB_USER:$dbpass@127.0.0.1:5432/$DB_NAME|" \
      -e "s|^MOTCUA_EXCHANGE_TOKEN=.*|MOTCUA_EXCHANGE_TOKEN=$(openssl rand -hex 24)|" \
      "$APP/deploy/env.example" > "$ENV_FILE.new"
  if [ -n "${MOTCUA_PUBLIC_URL:-}" ]; then
    sed -i "s|^MOTCUA_PUBLIC_URL=.*|MOTCUA_PUBLIC_URL=$MOTCUA_PUBLIC_URL|" "$ENV_FILE.new"
  fi
  chown root:motcua "$ENV_FILE.new"; chmod 0640 "$ENV_FILE.new"; mv "$ENV_FILE.new" "$ENV_FILE"
  say "created $ENV_FILE (secret key and database password generated)"
fi
env_value() { sed -n "s|^$1=||p" "$ENV_FILE" | tail -1; }
db_url="$(env_value MOTCUA_DATABASE_URL)"
public_url="$(env_value MOTCUA_PUBLIC_URL)"
public_host="$(echo "$public_url" | sed -E 's|^https?://([^/:]+).*|\1|')"

say "PostgreSQL database $DB_NAME"
systemctl enable --now postgresql >/dev/null
if [[ "$db_url" =~ ^postgres(ql)?://$DB_USER:([^@]+)@(127\.0\.0\.1|localhost)(:5432)?/$DB_NAME$ ]]; then
  dbpass="${BASH_REMATCH[2]}"
  psql_() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
  if [ "$(psql_ -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    psql_ -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$dbpass'"
  else
    psql_ -c "ALTER ROLE $DB_USER LOGIN PASSWORD '$dbpass'"  # the env file is the source of truth
  fi
  if [ "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    runuser -u postgres -- createdb -O "$DB_USER" -E UTF8 -T template0 "$DB_NAME"
  fi
else
  say "MOTCUA_DATABASE_URL is not the local $DB_NAME database: leaving the database to you"
fi

say "systemd units ($WEB_WORKERS web workers on ports $WEB_BASE_PORT..$(( WEB_BASE_PORT + WEB_WORKERS - 1 )))"
if [ -f /etc/systemd/system/motcua.service ]; then
  systemctl disable --now motcua.service >/dev/null 2>&1 || true  # the single-process unit of older versions
  rm -f /etc/systemd/system/motcua.service
fi
install -m 0644 "$APP"/deploy/motcua.target "$APP"/deploy/motcua-migrate.service \
  "$APP"/deploy/motcua-worker.service "$APP/deploy/motcua-web@.service" /etc/systemd/system/
systemctl daemon-reload
ports=()
for i in $(seq 0 $(( WEB_WORKERS - 1 ))); do ports+=($(( WEB_BASE_PORT + i ))); done
# Instances beyond the wanted count (after lowering MOTCUA_WEB_WORKERS) are stopped.
for unit in $(systemctl list-units --all --plain --no-legend 'motcua-web@*.service' | awk '{print $1}'); do
  port="${unit#motcua-web@}"; port="${port%.service}"
  if (( port < WEB_BASE_PORT || port >= WEB_BASE_PORT + WEB_WORKERS )); then
    systemctl disable --now "$unit" >/dev/null
  fi
done

say "nginx"
upstream=/etc/nginx/conf.d/motcua-upstream.conf
{
  echo "# written by deploy/install.sh: one line per motcua-web@ port"
  echo "upstream motcua_web {"
  echo "    least_conn;"
  for p in "${ports[@]}"; do echo "    server 127.0.0.1:$p max_fails=1 fail_timeout=5s;"; done
  echo "    keepalive 32;"
  echo "}"
} > "$upstream"
site=/etc/nginx/sites-available/motcua
sed "s|$EXAMPLE_HOST|${public_host:-$EXAMPLE_HOST}|g" "$APP/deploy/nginx.conf" > "$site"
ln -sf "$site" /etc/nginx/sites-enabled/motcua
if [ ! -f /etc/ssl/motcua/fullchain.pem ]; then
  # A placeholder so nginx starts; replace with the real certificate (docs/deploy.md).
  install -d -m 0755 /etc/ssl/motcua
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=${public_host:-localhost}" \
    -keyout /etc/ssl/motcua/privkey.pem -out /etc/ssl/motcua/fullchain.pem 2>/dev/null
  chmod 0600 /etc/ssl/motcua/privkey.pem
  say "self-signed certificate in /etc/ssl/motcua: replace it with the real one"
fi
nginx -t -q
systemctl enable nginx >/dev/null
systemctl reload-or-restart nginx

if [ -z "$public_host" ] || [ "$public_host" = "$EXAMPLE_HOST" ]; then
  say "set MOTCUA_PUBLIC_URL in $ENV_FILE (the address citizens and webhooks use), then run this again"
  exit 1
fi

say "starting"
units=(motcua.target motcua-migrate.service motcua-worker.service)
for p in "${ports[@]}"; do units+=("motcua-web@$p.service"); done
systemctl enable "${units[@]}" >/dev/null
# Every unit is PartOf the target: this re-runs the migration once, then (After=) restarts
# the worker and the web workers on the new code. The first time, it starts them.
systemctl restart motcua.target
for p in "${ports[@]}" 8090; do
  for _ in $(seq 60); do
    curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null || die "port $p does not answer: journalctl -u 'motcua*' -n 50"
done
say "Motcua is up at $public_url ($WEB_WORKERS web workers, 1 background worker)"
say "first account: sudo -u motcua sh -c 'set -a; . $ENV_FILE; exec $APP/.venv/bin/motcua create-admin USERNAME'"
