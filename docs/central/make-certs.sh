#!/bin/sh
# Vigil central station: create what the broker needs for N rooms and the board.
#
#   docs/central/make-certs.sh OUTDIR N [BROKER-HOST ...]
#
# OUTDIR gets: ca.crt, ca.key (keep it offline), server.crt, server.key (for the broker,
# valid for each BROKER-HOST, localhost and 127.0.0.1), passwd (mosquitto_passwd hashes for
# users room-1 ... room-N and board) and passwords.txt ("user password" lines, mode 0600).
# Each password is random and printed once on standard output: hand each room its own
# (VIGIL_MQTT_PASSWORD or --broker-password-file) and keep passwords.txt off the broker.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 OUTDIR N [BROKER-HOST ...]" >&2
    exit 2
fi
out=$1
n=$2
shift 2
case $n in
    ''|*[!0-9]*) echo "$0: N must be a number of rooms (got '$n')" >&2; exit 2 ;;
esac
if [ "$n" -lt 1 ] || [ "$n" -gt 999 ]; then
    echo "$0: N must be 1 to 999 (got $n)" >&2
    exit 2
fi
for tool in openssl mosquitto_passwd; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || {
        echo "$0: needs $tool (Debian: openssl, mosquitto)" >&2; exit 2; }
done
passwd_tool=$(command -v mosquitto_passwd || echo /usr/bin/mosquitto_passwd)

umask 077
mkdir -p "$out"
if [ -e "$out/passwd" ] || [ -e "$out/ca.key" ]; then
    echo "$0: $out already holds a CA or password file; refusing to overwrite it" >&2
    exit 2
fi

san="DNS:localhost,IP:127.0.0.1"
for host in "$@"; do
    case $host in
        *[!0-9.]*) san="$san,DNS:$host" ;;
        *) san="$san,IP:$host" ;;
    esac
done
cn=${1:-localhost}

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 -subj "/CN=Vigil central station CA" \
    2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$out/server.key" -out "$out/server.csr" -subj "/CN=$cn" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$san" > "$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -out "$out/server.crt" -days 825 -extfile "$out/server.ext" 2>/dev/null
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"
chmod 0644 "$out/ca.crt" "$out/server.crt"

: > "$out/passwd"
: > "$out/passwords.txt"
chmod 0600 "$out/passwd" "$out/passwords.txt"
i=1
users=""
while [ "$i" -le "$n" ]; do
    users="$users room-$i"
    i=$((i + 1))
done
for user in $users board; do
    pass=$(openssl rand -base64 24 | tr -d '/+=\n')
    "$passwd_tool" -b "$out/passwd" "$user" "$pass"
    printf '%s %s\n' "$user" "$pass" >> "$out/passwords.txt"
done
echo "Created in $out: ca.crt, ca.key, server.crt, server.key, passwd, passwords.txt"
echo "Passwords (shown once; also in $out/passwords.txt, mode 0600):"
cat "$out/passwords.txt"
