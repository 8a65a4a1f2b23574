#!/usr/bin/env bash
# Installs the Debian packages a step needs when they are missing (CI and fresh machines run as
# root; elsewhere sudo is used if present).
# Usage: ensure-system.sh python|ffmpeg|postgres|redis|chromium|npm
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
updated=""

apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "ensure-system: need $* but apt-get is not available; install it by hand" >&2
        exit 1
    fi
    if [ -z "$updated" ]; then $SUDO apt-get update -qq >/dev/null; updated=1; fi
    echo "ensure-system: installing $*" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

for need in "$@"; do
    case "$need" in
    python)
        # Debian splits venv and ensurepip out of python3.
        python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv python3-pip
        ;;
    ffmpeg)
        command -v ffprobe >/dev/null || apt_install ffmpeg
        ;;
    postgres)
        ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
        ;;
    redis)
        command -v redis-server >/dev/null || apt_install redis-server
        ;;
    chromium)
        # Debian's build: the browser tests drive /usr/bin/chromium (no browser download).
        [ -x /usr/bin/chromium ] || apt_install chromium
        ;;
    npm)
        command -v npm >/dev/null || apt_install nodejs npm
        ;;
    *)
        echo "ensure-system: unknown need $need" >&2
        exit 2
        ;;
    esac
done
