#!/bin/sh
# chassis_control program for OpenIPMI's ipmi_sim (one lab BMC = one node directory).
#
# ipmi_sim runs this with popen() inside its single event loop, once per power or
# boot-device request, and every BMC of that ipmi_sim process waits until it exits.
# So it uses shell builtins only (no python, no cat) and answers in a few ms; a slow
# answer makes the IPMI client retransmit and the command runs twice.
#
#   chassis_control.sh NODEDIR get power boot ...     -> "power:1" / "boot:pxe" lines
#   chassis_control.sh NODEDIR set power 1 boot pxe ...
#
# State lives in files inside NODEDIR: "power" (0|1) and "boot" (ipmi_sim's words:
# none, pxe, default (= hard disk), cdrom, bios).
#
# Hook: if NODEDIR/hook is executable, every power change is queued for it and run in
# the background, detached from ipmi_sim's pipe, after the state file is written:
#     NODEDIR/hook on|off|reset|softoff       (cwd = NODEDIR, log in NODEDIR/hook.log)
# Verbs reach the hook one at a time and in the order the BMC received them (queued in
# NODEDIR/hook.queue, drained under flock on NODEDIR/hook.lock). The hook should return
# quickly (start qemu with "&"); later verbs wait for it. It keeps NODEDIR/power true
# when the machine changes state on its own (e.g. the guest halts: write 0), and reads
# NODEDIR/boot to choose network or disk boot.
d=$1
op=$2
shift 2

hook() {
    [ -x "$d/hook" ] || return 0
    echo "$1" >>"$d/hook.queue"
    (
        cd "$d" || exit 1
        exec 9>hook.lock
        flock 9
        [ -f hook.queue ] || exit 0 # an earlier runner drained it
        mv hook.queue hook.run
        while read -r verb; do ./hook "$verb" </dev/null; done <hook.run
        rm -f hook.run
    ) </dev/null >>"$d/hook.log" 2>&1 &
}

case $op in
get)
    for p in "$@"; do
        case $p in
        power) v=0; [ -f "$d/power" ] && read -r v <"$d/power" ;;
        boot) v=none; [ -f "$d/boot" ] && read -r v <"$d/boot" ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
        esac
        echo "$p:$v"
    done
    ;;
set)
    while [ $# -gt 0 ]; do
        p=$1
        v=$2
        shift 2
        case $p in
        power)
            echo "$v" >"$d/power"
            if [ "$v" = 1 ]; then hook on; else hook off; fi
            ;;
        boot) echo "$v" >"$d/boot" ;;
        reset) hook reset ;;
        shutdown) echo 0 >"$d/power"; hook softoff ;;
        identify) shift ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
        esac
    done
    ;;
*) exit 1 ;;
esac
