#!/bin/bash
# otel-claude hook, fast path: what `otel-claude install` registers where bash 5 and /proc exist.
# Usage: hook.sh PYTHON [STATE_DIR]   (PYTHON: this installation's interpreter; STATE_DIR: the spool's home)
# Without STATE_DIR (`install --managed`: one command for every user of the machine) the state dir is the
# running user's own, resolved here as otel_claude/handoff/env.py does: $XDG_STATE_HOME or ~/.local/state.
#
# Claude Code waits for this on every event, and a Python start alone costs it twice what a do-nothing hook
# does; so the common case is bash builtins and one `cat`. Whatever is unusual (no spool yet, an old
# bash, a full spool, no running agent) goes to the Python hook, which handles every case, before stdin is
# touched. Same contract as hook.py: the agent takes a record only whole, stdout stays empty, the exit code is 0.
py=$1
dir=${2-}
[[ -n $dir ]] || dir=${XDG_STATE_HOME:-${HOME:-~}/.local/state}/otel-claude
here=${BASH_SOURCE[0]%/*}
exec 1>/dev/null 2>/dev/null
umask 077  # records and logs are private (0600), as the Python hook makes them
python_hook() { exec "$py" -I -S "$here/hook.py" --state-dir "$dir" "$@"; }

# A state dir that is a symlink or not ours goes to the Python hook too, which refuses it (and counts the loss).
[[ -n $py && -n $dir && -n ${EPOCHREALTIME-} && -d $dir/spool/tmp && -d /proc/self && ! -L $dir && -O $dir ]] ||
  python_hook
[[ -e $dir/spool/full ]] && python_hook  # the Python hook counts the drop
# The full marker is only as good as the agent that keeps it: its heartbeat holds the epoch second until which it
# promises to. With no promise (no agent, a hung one) the Python hook measures the spool itself before spooling.
until=
read -r until _ <"$dir/spool/heartbeat"
[[ -n $until && $until != *[!0-9]* ]] && ((until > ${EPOCHREALTIME%[.,]*})) || python_hook

if [[ ! -t 0 ]]; then
  now=${EPOCHREALTIME/[.,]/}000  # microseconds -> nanoseconds: the receive time
  # Written in place by one `cat`, no tmp+mv: the agent takes the record once its end marker is there.
  # (Bash cannot read a socket, which is what Claude Code's stdin is, without a byte-per-syscall loop.)
  for attempt in 1 2 3; do
    printf -v name '%020d-%07d-%05d.rec' "$now" "$$" "$RANDOM"
    [[ -e $dir/spool/new/$name ]] || break  # a clash (same ns, pid and random) is all but impossible; still
  done
  # (Not `if ! { ...; } >file`: when the redirection itself fails, bash runs neither branch of that form.)
  if { printf 'OCR2 %s\n' "$now" && cat && printf '\nOCR2-END\n'; } >"$dir/spool/new/$name"; then
    :
  else
    rm -f "$dir/spool/new/$name"  # a full disk: no half record left behind; the loss is counted
    # The fallback is the Python hook's (paths.fallback_dir), which `otel-claude status` counts. Another user may
    # have made it first: it is used only if it is a real directory of ours (`-O` alone follows a symlink) and
    # its drops.log a regular file (a FIFO there would block the append).
    fallback=${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}/otel-claude-$UID
    { printf '%s 0 shell_write_failed\n' "$now" >>"$dir/drops.log"; } ||
      { mkdir -p -m 700 "$fallback"; [[ ! -L $fallback && -d $fallback && -O $fallback ]] &&
        [[ ! -L $fallback/drops.log && (-f $fallback/drops.log || ! -e $fallback/drops.log) ]] &&
        printf '%s 0 shell_write_failed\n' "$now" >>"$fallback/drops.log"; }
  fi
fi

# Is the agent alive? Once it holds the lock the agent writes "<pid> <fd>" into the lock file: it runs if
# /proc/<pid> is ours and its fd <fd> is this very lock file (-ef: same device and inode). A stale or reused pid
# (whatever its argv), another user's process or another state dir's agent never counts. Two stats, no exec.
pid= fd=
read -r pid fd <"$dir/agent.lock"
[[ -n $pid && -n $fd && $pid$fd != *[!0-9]* && -O /proc/$pid && /proc/$pid/fd/$fd -ef $dir/agent.lock ]] && exit 0
python_hook --ensure-agent </dev/null
