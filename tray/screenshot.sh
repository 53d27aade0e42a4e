#!/usr/bin/env bash
# screenshot.sh renders kirobar's real tray menu under Xvfb with a
# StatusNotifier host and saves a PNG (for the README; not run in CI).
#
#   tray/screenshot.sh /path/to/kirobar [out.png] [-- extra kirobar args]
#
# Needs Debian's xvfb, dbus-daemon, haskell-gtk-sni-tray-utils
# (gtk-sni-tray-standalone), xdotool and imagemagick:
#   apt-get install -y xvfb dbus-daemon haskell-gtk-sni-tray-utils xdotool imagemagick
# kirobar runs with a throwaway KIROBAR_HOME unless one is set; for a menu
# with accounts, point a home's [kiro] URLs at a running fake upstream,
# add accounts with `kirobar accounts add`, and pass -- --home that/home.
set -euo pipefail

bin=${1:?usage: $0 /path/to/kirobar [out.png] [-- args]}
out=${2:-kirobar-tray.png}
shift $(( $# >= 2 ? 2 : 1 ))
[[ ${1:-} == -- ]] && shift

for tool in Xvfb dbus-daemon gtk-sni-tray-standalone xdotool import convert; do
	command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

display=:${SCREENSHOT_DISPLAY:-97}
Xvfb "$display" -screen 0 1024x640x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
export DISPLAY=$display
for _ in $(seq 50); do xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done

dbus-daemon --session --nofork --print-address=3 3>"$work/bus" >"$work/dbus.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -s $work/bus ]] && break; sleep 0.1; done
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$work/bus")
export DBUS_SESSION_BUS_ADDRESS
export XDG_CONFIG_HOME=$work/config
export KIROBAR_HOME=${KIROBAR_HOME:-$work/home}

# The panel: a bar with a StatusNotifierWatcher and host at the top.
gtk-sni-tray-standalone --watcher --top >"$work/host.log" 2>&1 &
pids+=($!)
sleep 2

"$bin" "$@" >"$work/kirobar.log" 2>&1 &
pids+=($!)

# Wait for the icon, then click it to open the menu.
win=""
for _ in $(seq 100); do
	win=$(xdotool search --onlyvisible --class gtk-sni-tray 2>/dev/null | head -n1 || true)
	[[ -n $win ]] && break
	sleep 0.1
done
[[ -n $win ]] || { echo "no tray host window; host log:" >&2; cat "$work/host.log" >&2; exit 1; }
sleep 2
eval "$(xdotool getwindowgeometry --shell "$win")"
xdotool mousemove --sync $((X + 12)) $((Y + HEIGHT / 2)) click 1
sleep 1.5
# Open the Accounts submenu too: it is the fourth line of the menu.
xdotool mousemove_relative --sync 40 110
sleep 1.5
import -window root "$out"
# Keep the icon and the open menus: trim the empty (black) desktop around them.
convert "$out" -trim +repage "$out"
echo "saved $out"
