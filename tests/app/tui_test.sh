#!/usr/bin/env bash
# tests/app/tui_test.sh: the terminal UI end to end (issue 9), driven
# through tmux. enkrypt-broker on 127.0.0.1 (a free port), two profiles
# (alice, bob) in scratch XDG directories, two `enkrypt` UIs in a private
# tmux server (-L), typed at with send-keys and read with capture-pane:
#   the passphrase prompt does not echo; alice /connect bob, bob /accept;
#   messages both ways appear on both screens with delivery marks; line
#   editing (ctrl-a/ctrl-e, ctrl-w); typing notices shown when on and never
#   when off; an unread count and activity while bob looks elsewhere;
#   read receipts only while on; PageUp/PageDown through 230 messages in
#   order; /verify shows the same 60-digit safety
#   number (12 groups of 5) and a QR code on both; /verify yes marks it;
#   /settings typing off; Alt-1/Alt-2 switch windows; the window is resized
#   smaller and back and the screen redraws at each size; /quit exits 0;
#   bob starts again: the session resumes and PageUp pages through the
#   history read back from the vault (beyond the first 200 loaded).
# Bounded: every wait has a deadline and the whole run stops at 85 s.
#
# usage: tui_test.sh ENKRYPT BROKER [TMUX]     (exit 77: skipped, no tmux)
set -euo pipefail

enkrypt=${1:?usage: tui_test.sh ENKRYPT BROKER [TMUX]}
broker=${2:?usage: tui_test.sh ENKRYPT BROKER [TMUX]}
tmux_bin=${3:-tmux}
if ! command -v "$tmux_bin" >/dev/null 2>&1; then
    echo "SKIP: no tmux"
    exit 77
fi

start=$SECONDS
limit=85
work=$(mktemp -d /tmp/ek-tui-test.XXXXXX)
sock="ek-tui-$$"
broker_pid=
failed=0

T() { "$tmux_bin" -L "$sock" -f /dev/null "$@"; }

cleanup() {
    T kill-server >/dev/null 2>&1 || true
    if [ -n "$broker_pid" ]; then
        kill "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    if [ "$failed" = 0 ] && [ -z "${EK_TUI_KEEP:-}" ]; then
        rm -rf "$work"
    else
        echo "files kept in $work"
    fi
}
trap cleanup EXIT

screen() { T capture-pane -p -t "$1" 2>/dev/null || true; }

fail() {
    failed=1
    echo "FAIL: $*"
    for s in alice bob; do
        echo "---- $s's screen ----"
        screen "$s"
        if [ -f "$work/$s/data/enkrypt/$s/tui.log" ]; then
            echo "---- $s's tui.log ----"
            tail -n 30 "$work/$s/data/enkrypt/$s/tui.log"
        fi
    done
    exit 1
}

check_time() {
    if ((SECONDS - start > limit)); then
        fail "out of time (${limit} s)"
    fi
}

# wait_for SESSION PATTERN [SECONDS]: until the screen matches (grep -E).
wait_for() {
    local s=$1 pat=$2 t=${3:-20}
    local until=$((SECONDS + t))
    while ((SECONDS < until)); do
        if screen "$s" | grep -Eq -- "$pat"; then
            return 0
        fi
        check_time
        sleep 0.2
    done
    fail "$s: no \"$pat\" on screen after ${t} s"
}

# wait_gone SESSION PATTERN [SECONDS]: until the screen no longer matches.
wait_gone() {
    local s=$1 pat=$2 t=${3:-10}
    local until=$((SECONDS + t))
    while ((SECONDS < until)); do
        if ! screen "$s" | grep -Eq -- "$pat"; then
            return 0
        fi
        check_time
        sleep 0.2
    done
    fail "$s: \"$pat\" still on screen after ${t} s"
}

# type SESSION TEXT: the text, then Enter.
type_line() {
    T send-keys -t "$1" -l -- "$2"
    T send-keys -t "$1" Enter
}

echo "scratch: $work"

# ---- the broker ----
"$broker" --host 127.0.0.1 --port 0 >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
port=
for _ in $(seq 100); do
    port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/broker.out" 2>/dev/null | head -n1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || fail "the broker did not say where it listens: $(cat "$work/broker.out" "$work/broker.err")"
echo "broker on 127.0.0.1:$port"

# ---- the profiles ----
export ENKRYPT_ARGON2_M_KIB=64 ENKRYPT_ARGON2_T=1 LANG=C.UTF-8 LC_ALL=C.UTF-8
declare -A id
for p in alice bob; do
    mkdir -p "$work/$p/config" "$work/$p/data"
    out=$(printf 'secret of %s\n' "$p" |
        XDG_CONFIG_HOME="$work/$p/config" XDG_DATA_HOME="$work/$p/data" \
            "$enkrypt" --profile "$p" --passphrase-fd 0 init) || fail "init $p: $out"
    id[$p]=$(printf '%s\n' "$out" | sed -n 's/^Your peer ID: \([a-z2-7]\{26\}\)$/\1/p')
    [ -n "${id[$p]}" ] || fail "no peer ID from init $p: $out"
    cat >"$work/$p/config/enkrypt/$p/config" <<EOF
[network]
broker=ws://127.0.0.1:$port/
local_addresses=127.0.0.1
ping_interval_ms=500
ping_timeout_ms=2500
open_timeout_ms=10000
reconnect_min_ms=200
reconnect_max_ms=1000
EOF
    echo "$p: ${id[$p]}"
done

# ---- two UIs ----
# start_ui PROFILE: a tmux session running enkrypt; types the passphrase.
start_ui() {
    local p=$1
    for _ in $(seq 50); do # the last session of this name may still be closing
        T has-session -t "=$p" 2>/dev/null || break
        sleep 0.1
    done
    local cmd="env XDG_CONFIG_HOME='$work/$p/config' XDG_DATA_HOME='$work/$p/data' \
G_MESSAGES_DEBUG= '$enkrypt' --profile $p; echo \$? > '$work/$p.rc'"
    T new-session -d -s "$p" -x 120 -y 40 "$cmd"
    wait_for "$p" '[Pp]assphrase' 15
    T send-keys -t "$p" -l -- "secret of $p"
    T send-keys -t "$p" Enter
}
start_ui alice
start_ui bob
for p in alice bob; do
    wait_for "$p" 'broker: registered' 30
    if screen "$p" | grep -q "secret of $p"; then
        fail "$p: the passphrase was echoed"
    fi
    wait_for "$p" "${id[$p]}" 5
done
echo "both UIs are up and registered ($((SECONDS - start)) s)"

# ---- connect and accept ----
type_line alice "/connect ${id[bob]}"
wait_for bob "${id[alice]} wants to connect" 30
type_line bob "/accept"
wait_for alice 'is ready: end-to-end encrypted' 40
wait_for bob 'is ready: end-to-end encrypted' 20
echo "connected ($((SECONDS - start)) s)"
type_line alice "/nick bob"
type_line bob "/nick alice"
wait_for alice 'is now known as bob' 5
wait_for bob 'is now known as alice' 5

# ---- messages both ways ----
type_line alice "hello bob, this is alice"
wait_for bob '<alice> hello bob, this is alice' 20
wait_for alice 'hello bob, this is alice \(delivered\)' 20
type_line bob "hi alice: grüße, 你好"
wait_for alice '<bob> hi alice: grüße, 你好' 20
wait_for bob 'hi alice: grüße, 你好 \(delivered\)' 20
# Line editing: "middle", ctrl-a, "start ", ctrl-e, " junk", ctrl-w, "end".
T send-keys -t alice -l -- "middle"
T send-keys -t alice C-a
T send-keys -t alice -l -- "start "
T send-keys -t alice C-e
T send-keys -t alice -l -- " junk"
T send-keys -t alice C-w
T send-keys -t alice -l -- "end"
T send-keys -t alice Enter
wait_for bob '<alice> start middle end$' 20
echo "messages both ways ($((SECONDS - start)) s)"

# ---- typing notices: shown while alice types, never when hers are off ----
type_line alice "/settings typing on"
wait_for alice 'typing-indicators +on' 5
T send-keys -t alice -l -- "abc"
wait_for bob '\[alice is typing' 10
T send-keys -t alice C-u
wait_gone bob 'is typing' 10
type_line alice "/settings typing off"
wait_for alice 'typing-indicators +off' 5
T send-keys -t alice -l -- "xyz"
sleep 1.5
if screen bob | grep -q 'is typing'; then
    fail "bob sees alice typing while her typing notices are off"
fi
T send-keys -t alice C-u
echo "typing notices ($((SECONDS - start)) s)"

# ---- read receipts: sent only while bob's setting is on ----
type_line bob "/settings receipts on"
wait_for bob 'read-receipts +on' 5
type_line alice "read me"
wait_for alice 'read me \(read\)' 15
type_line bob "/settings receipts off"
wait_for bob 'read-receipts +off' 5
type_line alice "no receipt for this"
wait_for bob '<alice> no receipt for this' 10
wait_for alice 'no receipt for this \(delivered\)' 10
sleep 1.5
if screen alice | grep -q 'no receipt for this (read)'; then
    fail "a read receipt came while bob's read receipts are off"
fi

# ---- unread count and activity while bob is in the status window ----
T send-keys -t bob M-1
wait_for bob 'enkrypt +profile bob +your ID' 5
type_line alice "are you there?"
wait_for bob ' 2 . alice +1│' 10
wait_for bob '\[Act: 2\]' 5
T send-keys -t bob M-2
wait_for bob '<alice> are you there\?' 5
wait_for bob ' 2 . alice +│' 5

# ---- scrolling: 230 messages arrive in order; PageUp, PageDown ----
# (23 lines per send-keys: starting a tmux client per line costs seconds)
for b in $(seq 0 9); do
    keys=()
    for i in $(seq $((b * 23 + 1)) $((b * 23 + 23))); do
        keys+=("$(printf 'line %03d of many' "$i")" Enter)
    done
    T send-keys -t alice "${keys[@]}"
done
wait_for bob '<alice> line 230 of many' 40
got=$(screen bob | grep -oE 'line [0-9]{3} of many' | cut -d' ' -f2 | tr '\n' ' ')
want=$(seq -w $((231 - $(echo "$got" | wc -w))) 230 | tr '\n' ' ')
[ "$got" = "$want" ] || fail "bob: lines out of order: $got"
T send-keys -t bob PPage
wait_for bob '\[-- more --\]' 5
wait_gone bob 'line 230 of many' 5
T send-keys -t bob NPage
T send-keys -t bob NPage
wait_gone bob '\[-- more --\]' 5
wait_for bob 'line 230 of many' 5
echo "unread, activity and scrolling ($((SECONDS - start)) s)"

# ---- /verify ----
type_line alice "/verify"
type_line bob "/verify"
num_re='([0-9]{5} ){11}[0-9]{5}'
wait_for alice "$num_re" 10
wait_for bob "$num_re" 10
na=$(screen alice | grep -oE "$num_re" | tail -n1)
nb=$(screen bob | grep -oE "$num_re" | tail -n1)
[ "$na" = "$nb" ] || fail "safety numbers differ: alice $na, bob $nb"
for p in alice bob; do
    # The QR code: rows of half blocks.
    screen "$p" | grep -q '▀' || fail "$p: no QR code on screen"
done
echo "same safety number on both: $na"
type_line alice "/verify yes"
wait_for alice 'is now marked verified' 5
wait_for alice 'bob +[a-z2-7]{26} +ready +verified' 5

# ---- settings ----
type_line bob "/settings typing off"
wait_for bob 'typing-indicators +off' 5
type_line bob "/settings"
wait_for bob 'read-receipts +off' 5

# ---- windows ----
T send-keys -t alice M-1
wait_for alice 'enkrypt +profile alice +your ID' 5
T send-keys -t alice M-2
wait_for alice 'bob +[a-z2-7]{26} +ready' 5

# ---- resize ----
# layout_ok SESSION COLS ROWS: a whole screen drawn for that size: the
# title on the first row, the contacts pane's separator in its column on
# every row down to the status line, the status line and the input line
# last (a stale layout scrolls or tears, and breaks one of these).
layout_ok() {
    local s=$1 cols=$2 rows=$3 lines i
    local sep=$((cols / 5 < 18 ? 18 : (cols / 5 > 28 ? 28 : cols / 5)))
    mapfile -t lines < <(screen "$s")
    [ "${#lines[@]}" = "$rows" ] || return 1
    [[ ${lines[0]} == " bob  "* ]] || return 1
    for ((i = 1; i < rows - 2; i++)); do
        [ "${lines[i]:sep:1}" = "│" ] || return 1
    done
    [[ ${lines[rows - 2]} == "["*"[broker: registered] [bob: ready]"* ]] || return 1
    [[ ${lines[rows - 1]} == "[bob]"* ]] || return 1
}
# resize_to SESSION COLS ROWS
resize_to() {
    T resize-window -t "$1" -x "$2" -y "$3"
    local until=$((SECONDS + 5))
    until layout_ok "$1" "$2" "$3"; do
        ((SECONDS < until)) || fail "$1: the screen is not redrawn for $2x$3"
        sleep 0.2
    done
}
layout_ok alice 120 40 || fail "alice: the layout at 120x40 is not as expected"
resize_to alice 80 24
resize_to alice 100 30
resize_to alice 120 40
wait_for alice 'is now marked verified' 5
echo "resized and redrawn ($((SECONDS - start)) s)"

# ---- quit, and bob comes back: history from the vault, session resumed ----
wait_rc() {
    for _ in $(seq 100); do
        [ -s "$work/$1.rc" ] && break
        sleep 0.1
    done
    [ -s "$work/$1.rc" ] || fail "$1 did not exit after /quit"
    local rc
    rc=$(cat "$work/$1.rc")
    [ "$rc" = 0 ] || fail "$1 exited with $rc after /quit"
}
type_line bob "/quit"
wait_rc bob
rm -f "$work/bob.rc"
start_ui bob
wait_for bob 'broker: registered' 30
T send-keys -t bob M-2
wait_for bob 'line 230 of many' 10
wait_for bob 'the saved session resumed' 30
pages=0
while ! screen bob | grep -q 'line 001 of many'; do
    ((pages++ < 30)) || fail "bob: PageUp never reached the first message"
    T send-keys -t bob PPage
    sleep 0.15
done
echo "bob restarted, resumed, paged back $pages pages to the first message ($((SECONDS - start)) s)"

type_line alice "/quit"
type_line bob "/quit"
wait_rc alice
wait_rc bob
echo "PASS: the terminal UI ($((SECONDS - start)) s)"
